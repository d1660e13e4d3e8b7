import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { paths } from './layout.ts';

const run = promisify(execFile);

async function openssl(cwd: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is required to create the test cluster certificates; install it (apt-get install openssl)', { cause: err });
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/**
 * A throwaway PKI for one control plane: a CA, the apiserver's serving certificate for 127.0.0.1/localhost, an
 * admin client certificate in system:masters (what kubectl and the components use), and the service-account
 * signing key pair (so TokenRequest works and the chart's ServiceAccount can be impersonated for real).
 */
export async function createPKI(dir: string): Promise<void> {
  const p = paths(dir);
  await mkdir(p.pki, { recursive: true, mode: 0o700 });
  const cwd = p.pki;
  await openssl(cwd, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-subj', '/CN=sluice-test-ca', '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await writeFile(join(cwd, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  await writeFile(join(cwd, 'client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  // One after the other: both update the CA's serial file.
  await issue(cwd, 'apiserver', '/CN=kube-apiserver', 'server.ext');
  await issue(cwd, 'admin', '/CN=admin/O=system:masters', 'client.ext');
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(p.saPrivate, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(p.saPublic, sa.publicKey.export({ type: 'spki', format: 'pem' }));
}

async function issue(cwd: string, name: string, subject: string, ext: string): Promise<void> {
  await openssl(cwd, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await openssl(cwd, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '365', '-out', `${name}.crt`, '-extfile', ext]);
}
