import { parseAllDocuments, stringify } from 'yaml';

/**
 * A test marks a pod that must never become Ready with this label (usually in a pod template, e.g. a canary's).
 * kwok then runs it as Running with Ready=False, as a real pod whose readiness probe keeps failing.
 * Removing the label lets the pod turn Ready, as a pod whose probe starts passing.
 */
export const UNREADY_LABEL = 'sluice.dev/test-unready';

/**
 * A Job's pods complete (exit 0) by kwok's default stage. A test that needs a Job to fail puts this label on the Job's
 * pod template: its pods end Failed with exit code 1, so the real Job controller counts them against backoffLimit.
 */
export const FAIL_LABEL = 'sluice.dev/test-fail';

/**
 * How long a Job's pod "runs" before it completes or fails (a Go duration such as "3s", on the pod template's
 * annotations): lets a test see a hook or a job measurement in flight. Without it the pod ends at once.
 */
export const RUN_FOR_ANNOTATION = 'sluice.dev/test-run-for';

interface MatchExpression {
  key: string;
  operator: string;
  values?: string[];
}

interface Stage {
  apiVersion: string;
  kind: 'Stage';
  metadata: { name: string };
  spec: {
    resourceRef: { apiGroup: string; kind: string };
    selector?: { matchExpressions?: MatchExpression[] };
    next?: unknown;
    delay?: unknown;
    [k: string]: unknown;
  };
}

const labelKey = (label: string): string => `.metadata.labels["${label}"]`;

function parseStages(defaultsYaml: string): Stage[] {
  const stages: Stage[] = [];
  for (const doc of parseAllDocuments(defaultsYaml)) {
    if (doc.errors.length > 0) throw new Error(`kwok default stages: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const s = value as Partial<Stage>;
    if (s.kind !== 'Stage' || typeof s.metadata?.name !== 'string' || s.spec?.resourceRef === undefined) {
      throw new Error('kwok default stages: every document must be a Stage with a name and a resourceRef');
    }
    stages.push(s as Stage);
  }
  return stages;
}

/**
 * kwok's own default stages (node init, heartbeat, pod ready/complete/delete), with two changes:
 * `pod-ready` skips pods carrying UNREADY_LABEL; a `pod-unready` stage runs those without making them Ready; and a
 * `pod-recovered` stage makes a Running, unready pod Ready once its label is removed (the probe started passing).
 * Job pods: `pod-complete` skips pods carrying FAIL_LABEL and a `pod-fail` stage fails those; both wait for
 * RUN_FOR_ANNOTATION when the pod has it.
 */
export function composeStages(defaultsYaml: string): string {
  const stages = parseStages(defaultsYaml);
  const jobStages = amendJobStages(stages);
  const ready = stages.find((s) => s.metadata.name === 'pod-ready');
  if (ready === undefined) throw new Error('kwok default stages: no pod-ready stage to amend');
  const exprs = ready.spec.selector?.matchExpressions ?? [];
  exprs.push({ key: labelKey(UNREADY_LABEL), operator: 'DoesNotExist' });
  ready.spec.selector = { ...ready.spec.selector, matchExpressions: exprs };

  const unready: Stage = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'pod-unready' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.phase', operator: 'In', values: ['Pending'] },
          { key: labelKey(UNREADY_LABEL), operator: 'Exists' },
        ],
      },
      next: { statusTemplate: UNREADY_STATUS },
    },
  };
  const recovered: Stage = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'pod-recovered' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: {
        matchExpressions: [
          { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' },
          { key: '.status.phase', operator: 'In', values: ['Running'] },
          { key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: 'NotIn', values: ['True'] },
          { key: labelKey(UNREADY_LABEL), operator: 'DoesNotExist' },
        ],
      },
      // Only readiness changes: the pod keeps its IP (a second one would be rejected by the apiserver).
      next: { statusTemplate: RECOVERED_STATUS },
    },
  };
  return [...stages, unready, recovered, ...jobStages].map((s) => stringify(s)).join('---\n');
}

const runFor = {
  durationMilliseconds: 0,
  durationFrom: { expressionFrom: `.metadata.annotations["${RUN_FOR_ANNOTATION}"]` },
};

/** Amends kwok's pod-complete stage (in place) and returns the pod-fail stage to add after it. */
function amendJobStages(stages: Stage[]): Stage[] {
  const complete = stages.find((s) => s.metadata.name === 'pod-complete');
  if (complete === undefined) return []; // a defaults file without Job support: nothing to amend
  const exprs = complete.spec.selector?.matchExpressions ?? [];
  const jobSelector = exprs.filter((e) => e.key !== labelKey(FAIL_LABEL));
  complete.spec.selector = {
    ...complete.spec.selector,
    matchExpressions: [...jobSelector, { key: labelKey(FAIL_LABEL), operator: 'DoesNotExist' }],
  };
  complete.spec.delay = runFor;
  const fail: Stage = {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: 'pod-fail' },
    spec: {
      resourceRef: { apiGroup: 'v1', kind: 'Pod' },
      selector: { matchExpressions: [...jobSelector, { key: labelKey(FAIL_LABEL), operator: 'Exists' }] },
      delay: runFor,
      next: { statusTemplate: FAILED_STATUS },
    },
  };
  return [fail];
}

// Containers that exited 1: the pod failed as a real one whose command returned an error.
const FAILED_STATUS = `{{ $now := Now }}
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: 1
      finishedAt: {{ $now | Quote }}
      reason: Error
      startedAt: {{ $now | Quote }}
{{ end }}
phase: Failed
`;

// A Go template kwok renders into the pod's status: running containers that are not ready.
const UNREADY_STATUS = `{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  reason: ContainersNotReady
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
{{ with $podIPs }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
`;

const RECOVERED_STATUS = `{{ $now := Now }}
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  reason: null
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  reason: null
  type: ContainersReady
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
`;
