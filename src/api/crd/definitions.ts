// One entry per kind: the zod schema it is generated from and the CRD's names, columns and subresources.
import type { z } from 'zod';
import { analysisRunSchema, analysisTemplateSchema, clusterAnalysisTemplateSchema } from '../analysis/schema.ts';
import { applicationSchema } from '../application/schema.ts';
import { applicationSetSchema } from '../applicationset/schema.ts';
import { experimentSchema } from '../experiment/schema.ts';
import { rolloutSchema } from '../rollout/schema.ts';
import type { PrinterColumn } from './types.ts';

export const GROUP = 'sluice.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = 'sluice';

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  /** Chosen not to clash with Argo's (ro, rollout, ar, at, cat, app, apps) so both can be installed. */
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const KINDS: readonly KindDefinition[] = [
  {
    kind: 'Rollout',
    plural: 'rollouts',
    singular: 'rollout',
    shortNames: ['srol'],
    scope: 'Namespaced',
    schema: rolloutSchema,
    printerColumns: [
      { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas', description: 'Pods wanted' },
      { name: 'Current', type: 'integer', jsonPath: '.status.replicas', description: 'Pods that exist' },
      { name: 'Up-to-date', type: 'integer', jsonPath: '.status.updatedReplicas', description: 'Pods of the current revision' },
      { name: 'Available', type: 'integer', jsonPath: '.status.availableReplicas', description: 'Pods available for minReadySeconds' },
      { name: 'Step', type: 'integer', jsonPath: '.status.currentStepIndex', description: 'Index of the current canary step' },
      { name: 'Weight', type: 'integer', jsonPath: '.status.canary.weights.canary.weight', description: 'Traffic percentage sent to the canary' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      age,
    ],
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  },
  {
    kind: 'AnalysisTemplate',
    plural: 'analysistemplates',
    singular: 'analysistemplate',
    shortNames: ['sat'],
    scope: 'Namespaced',
    schema: analysisTemplateSchema,
    printerColumns: [age],
  },
  {
    kind: 'ClusterAnalysisTemplate',
    plural: 'clusteranalysistemplates',
    singular: 'clusteranalysistemplate',
    shortNames: ['scat'],
    scope: 'Cluster',
    schema: clusterAnalysisTemplateSchema,
    printerColumns: [age],
  },
  {
    kind: 'AnalysisRun',
    plural: 'analysisruns',
    singular: 'analysisrun',
    shortNames: ['sar'],
    scope: 'Namespaced',
    schema: analysisRunSchema,
    printerColumns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
      age,
    ],
  },
  {
    kind: 'Experiment',
    plural: 'experiments',
    singular: 'experiment',
    shortNames: ['sexp'],
    scope: 'Namespaced',
    schema: experimentSchema,
    printerColumns: [
      { name: 'Status', type: 'string', jsonPath: '.status.phase' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
      age,
    ],
  },
  {
    kind: 'Application',
    plural: 'applications',
    singular: 'application',
    shortNames: ['sapp'],
    scope: 'Namespaced',
    schema: applicationSchema,
    printerColumns: [
      { name: 'Sync', type: 'string', jsonPath: '.status.sync.status' },
      { name: 'Health', type: 'string', jsonPath: '.status.health.status' },
      { name: 'Revision', type: 'string', jsonPath: '.status.sync.revision' },
      age,
    ],
  },
  {
    kind: 'ApplicationSet',
    plural: 'applicationsets',
    singular: 'applicationset',
    shortNames: ['sappset'],
    scope: 'Namespaced',
    schema: applicationSetSchema,
    printerColumns: [age],
  },
];
