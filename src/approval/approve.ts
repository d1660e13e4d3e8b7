// Signed approvals: a person approves a paused Rollout from chat (a bot, a CI job) with an HMAC-signed POST to the
// operator's webhook server, as `kubectl sluice promote` would. The Rollout opts in with the annotation
// `sluice.dev/approval-secret: <Secret in its namespace>` (key `secret`). The request names the revision and step it
// approves and when it was signed: a stale request (outside the window), a replay (a signature seen before) or one
// for another step is refused, so an approval can never promote a later pause than the one its sender saw.
//
// `checkApproval` is pure; `handleApproval` is the HTTP shell.
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.ts';
import { z } from 'zod';
import type { RolloutStatus } from '../api/rollout/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isNotFound, KubeApiError } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { ReplayGuard } from '../server/replay.ts';
import { readBody, safeEqual } from '../server/request.ts';

export const APPROVAL_SECRET_ANNOTATION = 'sluice.dev/approval-secret';
export const APPROVAL_SIGNATURE_HEADER = 'x-sluice-signature-256';
/** How far a request's timestamp may be from the operator's clock, either way. */
export const APPROVAL_WINDOW_MS = 5 * 60_000;
const MAX_BYTES = 16 * 1024;

export const approvalSchema = z.object({
  namespace: z.string().min(1),
  rollout: z.string().min(1),
  /** The revision (status.currentPodHash) and step (status.currentStepIndex) approved. */
  revision: z.string().min(1),
  step: z.int().min(0),
  /** Unix seconds when it was signed. */
  timestamp: z.int(),
});
export type Approval = z.infer<typeof approvalSchema>;

export const signApproval = (secret: string, body: Buffer | string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export type ApprovalVerdict = { ok: true } | { ok: false; status: 401 | 409; reason: string };

/** Signature, time window, replay and the Rollout's state: may this request promote this Rollout now? */
export function checkApproval(a: { body: Buffer; signature: string | undefined; approval: Approval; secret: string | undefined; status: RolloutStatus | undefined; now: number; seen: { has(key: string): boolean } }): ApprovalVerdict {
  // Every failure to authenticate reads the same to the sender (the log says which): nothing about which Rollouts
  // exist or which have a secret leaks to an unsigned caller.
  const denied: ApprovalVerdict = { ok: false, status: 401, reason: 'not approved: bad or missing signature, or a stale request' };
  if (a.secret === undefined || a.signature === undefined || !safeEqual(a.signature, signApproval(a.secret, a.body))) return denied;
  if (Math.abs(a.now - a.approval.timestamp * 1000) > APPROVAL_WINDOW_MS) return denied;
  if (a.seen.has(a.signature)) return { ok: false, status: 409, reason: 'this approval was already used' };
  const s = a.status;
  if (s?.currentPodHash !== a.approval.revision || (s.currentStepIndex ?? 0) !== a.approval.step) {
    return { ok: false, status: 409, reason: `rollout is at revision ${s?.currentPodHash ?? '-'} step ${s?.currentStepIndex ?? 0}, not ${a.approval.revision} step ${a.approval.step}` };
  }
  if ((s.pauseConditions ?? []).length === 0) return { ok: false, status: 409, reason: 'rollout is not paused' };
  if (s.abort === true) return { ok: false, status: 409, reason: 'rollout is aborted' };
  return { ok: true };
}

/** The signatures used, remembered past the window (older ones are refused by the window anyway). */
export const approvalReplayGuard = (now?: () => number): ReplayGuard => new ReplayGuard({ ttlMs: 2 * APPROVAL_WINDOW_MS, ...(now !== undefined ? { now } : {}) });

type RolloutObj = KubeObject & { status?: RolloutStatus };
type SecretObj = KubeObject & { data?: Record<string, string> };

export interface ApprovalDeps {
  client: KubeClient;
  log: Logger;
  seen: ReplayGuard;
  fieldManager: string;
  now?: () => number;
}

/** POST /api/approve: 200 promoted, 400 bad body, 401 not authenticated, 409 replayed or not paused there, 503
 * when the apiserver cannot be asked. */
export async function handleApproval(req: IncomingMessage, res: ServerResponse, deps: ApprovalDeps): Promise<void> {
  try {
    await approve(req, res, deps);
  } catch (err) {
    deps.log.warn({ err }, 'approval failed');
    if (res.headersSent) return;
    const conflict = err instanceof KubeApiError && err.status === 409;
    res.writeHead(conflict ? 409 : 503, { 'Content-Type': 'text/plain' }).end(conflict ? 'the rollout changed meanwhile: read its status and sign again\n' : 'the apiserver could not be asked: try again\n');
  }
}

async function approve(req: IncomingMessage, res: ServerResponse, deps: ApprovalDeps): Promise<void> {
  const send = (status: number, text: string): void => void res.writeHead(status, { 'Content-Type': 'text/plain' }).end(`${text}\n`);
  if (req.method !== 'POST') return void res.writeHead(405, { Allow: 'POST' }).end();
  const body = await readBody(req, res, MAX_BYTES);
  if (body === undefined) return;
  let parsed: Approval;
  try {
    parsed = approvalSchema.parse(JSON.parse(body.toString('utf8')));
  } catch {
    return send(400, 'body must be JSON {namespace, rollout, revision, step, timestamp}');
  }
  const { client, log } = deps;
  const rollout = await client.get<RolloutObj>(R.rollout, parsed.namespace, parsed.rollout).catch(orUndefinedIfNotFound);
  const secretName = rollout?.metadata?.annotations?.[APPROVAL_SECRET_ANNOTATION];
  const secretObj = secretName === undefined ? undefined : await client.get<SecretObj>(R.secret, parsed.namespace, secretName).catch(orUndefinedIfNotFound);
  const raw = secretObj?.data?.secret;
  const secret = raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
  const signature = [req.headers[APPROVAL_SIGNATURE_HEADER]].flat()[0];
  const now = deps.now?.() ?? Date.now();
  const verdict = checkApproval({ body, signature, approval: parsed, secret, status: rollout?.status, now, seen: deps.seen });
  if (!verdict.ok) {
    log.warn({ rollout: `${parsed.namespace}/${parsed.rollout}`, found: rollout !== undefined, secret: secretName, reason: verdict.reason }, 'approval refused');
    return send(verdict.status, verdict.reason);
  }
  deps.seen.admit([signature as string]);
  // The same patch as `kubectl sluice promote` on a pause, conditional on the state the approval was checked against.
  await client.jsonPatch(
    R.rollout,
    parsed.namespace,
    parsed.rollout,
    [
      { op: 'test', path: '/metadata/resourceVersion', value: rollout?.metadata?.resourceVersion },
      { op: 'remove', path: '/status/pauseConditions' },
    ],
    { subresource: 'status', fieldManager: deps.fieldManager },
  );
  log.info({ rollout: `${parsed.namespace}/${parsed.rollout}`, revision: parsed.revision, step: parsed.step }, 'rollout approved by a signed request');
  send(200, `rollout "${parsed.rollout}" promoted`);
}

function orUndefinedIfNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}
