// The real sops and age-keygen for the decryption tests, built by test/sops/build.sh into the cache (`npm test`
// builds them first; a test run alone builds them here, or finds them warm). Keys and plaintext stay in memory.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

let dir: string | undefined;

/** The directory of sops and age-keygen: $SLUICE_TEST_SOPS_DIR, or what test/sops/build.sh prints. */
export function sopsBinDir(): string {
  dir ??= process.env.SLUICE_TEST_SOPS_DIR ?? execFileSync('bash', [resolve('test/sops/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
  return dir;
}

export interface AgeKey {
  /** AGE-SECRET-KEY-1… */
  identity: string;
  /** age1… */
  recipient: string;
}

/** A new age key pair from age-keygen (its stdout only: nothing is written to disk). */
export function ageKeygen(): AgeKey {
  const out = execFileSync(join(sopsBinDir(), 'age-keygen'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const identity = /^AGE-SECRET-KEY-1\S+$/m.exec(out)?.[0];
  const recipient = /public key: (age1\S+)/.exec(out)?.[1];
  if (identity === undefined || recipient === undefined) throw new Error(`age-keygen printed no key pair: ${out.length} bytes`);
  return { identity, recipient };
}

/** A YAML manifest encrypted by sops to an age recipient, values of data/stringData only (as Flux's guide does it). */
export function sopsEncryptYaml(yaml: string, recipient: string): string {
  const args = ['encrypt', '--age', recipient, '--encrypted-regex', '^(data|stringData)$', '--filename-override', 'secret.yaml'];
  return execFileSync(join(sopsBinDir(), 'sops'), args, { input: yaml, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } });
}
