import { describe, expect, it } from '@jest/globals';
import { pickCluster } from './cluster.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const secret = (name: string, data: Record<string, string>): object => ({
  metadata: { name, labels: { 'argocd.argoproj.io/secret-type': 'cluster' } },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const good = (secretName: string, name: string, server: string): object => secret(secretName, { name, server, config: JSON.stringify({ bearerToken: 'tok-123' }) });

describe('--cluster: picking the cluster Secret', () => {
  const secrets = [good('s-staging', 'staging', 'https://10.0.0.2:6443'), good('s-prod', 'prod', 'https://10.0.0.3:6443/')];

  it('by the cluster name or its server URL (trailing slash or not)', () => {
    expect(pickCluster(secrets as never, 'prod', 'ops')).toMatchObject({ name: 'prod', server: 'https://10.0.0.3:6443', credentials: { bearerToken: 'tok-123' } });
    expect(pickCluster(secrets as never, 'https://10.0.0.2:6443/', 'ops').name).toBe('staging');
  });

  it('an unknown name lists the clusters there are and where it looked', () => {
    expect(() => pickCluster(secrets as never, 'qa', 'ops')).toThrow('--cluster qa: no cluster Secret (label argocd.argoproj.io/secret-type=cluster) in namespace ops has that name or server (have: prod, staging); --cluster-namespace picks where the operator keeps them');
    expect(() => pickCluster([], 'qa', 'ops')).toThrow('(have: none)');
  });

  it('a broken Secret claiming the name says what is wrong with it, naming the field and not the token', () => {
    const broken = secret('s-qa', { name: 'qa', server: 'https://10.0.0.4:6443', config: '{"bearerToken": "tok-456", "tlsClientConfig": {"caData": "not base64 PEM"}}' });
    let message = '';
    try {
      pickCluster([broken] as never, 'qa', 'ops');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^--cluster qa: cluster Secret s-qa: data\.config\.tlsClientConfig\.caData: is not valid PEM/);
    expect(message).not.toContain('tok-456');
  });
});
