// HTTPS credentials from the Secret an Application references: `username` + `password`, or a `token` (sent as the
// password; the username defaults to `x-access-token`, which GitHub, Gitea and Bitbucket accept; GitLab wants
// `oauth2`, so set `username` there).
import { z } from 'zod';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { R } from '../../kube/resource.ts';
import { SourceError, type GitCredentials } from './git.ts';

const secretDataSchema = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  token: z.string().optional(),
});

const decode = (v: string | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8'));

/** Pure: the Secret's data (base64 values) → credentials, or a message saying what is missing. */
export function credentialsFromSecretData(data: Record<string, string> | undefined): GitCredentials | string {
  const parsed = secretDataSchema.safeParse(data ?? {});
  if (!parsed.success) return 'the secret data is not a map of strings';
  const username = decode(parsed.data.username);
  const password = decode(parsed.data.password) ?? decode(parsed.data.token);
  if (password === undefined || password === '') return 'the secret has neither `password` nor `token`';
  return { username: username ?? 'x-access-token', password };
}

export async function readCredentials(client: KubeClient, namespace: string, name: string): Promise<GitCredentials> {
  let secret: KubeObject & { data?: Record<string, string> };
  try {
    secret = await client.get(R.secret, namespace, name);
  } catch (err) {
    if (isNotFound(err)) throw new SourceError(`credentials secret ${namespace}/${name} not found`, false, err);
    throw err;
  }
  const creds = credentialsFromSecretData(secret.data);
  if (typeof creds === 'string') throw new SourceError(`credentials secret ${namespace}/${name}: ${creds}`, false);
  return creds;
}
