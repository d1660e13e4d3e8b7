// Builds a CustomResourceDefinition per kind from its zod schema (input side: what a user may write).
import { z } from 'zod';
import { structuralProblems } from './check.ts';
import { CATEGORY, GROUP, KINDS, VERSION, type KindDefinition } from './definitions.ts';
import { toStructural } from './structural.ts';
import type { CustomResourceDefinition, JSONSchemaProps } from './types.ts';

/** The openAPIV3Schema for a kind: its zod schema made structural, with apiVersion, kind and metadata left to the
 * apiserver (it sets and validates them itself). */
export function openApiSchema(def: KindDefinition): JSONSchemaProps {
  const json = z.toJSONSchema(def.schema, { target: 'openapi-3.0', io: 'input' }) as Record<string, unknown>;
  const root = toStructural(json);
  const properties = {
    ...root.properties,
    apiVersion: { type: 'string', description: 'sluice.dev/v1alpha1' },
    kind: { type: 'string', description: def.kind },
    metadata: { type: 'object' },
  } satisfies Record<string, JSONSchemaProps>;
  const required = (root.required ?? []).filter((k) => k !== 'apiVersion' && k !== 'kind' && k !== 'metadata');
  const schema: JSONSchemaProps = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  const problems = structuralProblems(schema);
  if (problems.length > 0) throw new Error(`${def.kind} schema is not structural:\n${problems.join('\n')}`);
  return schema;
}

export function buildCrd(def: KindDefinition): CustomResourceDefinition {
  const version: CustomResourceDefinition['spec']['versions'][number] = {
    name: VERSION,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: openApiSchema(def) },
    subresources: def.scale === undefined ? { status: {} } : { status: {}, scale: { ...def.scale } },
  };
  if (def.printerColumns.length > 0) version.additionalPrinterColumns = def.printerColumns.map((c) => ({ ...c }));
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'sluice' } },
    spec: {
      group: GROUP,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: [...def.shortNames],
        categories: [CATEGORY],
      },
      versions: [version],
    },
  };
}

export function buildCrds(): CustomResourceDefinition[] {
  return KINDS.map(buildCrd);
}
