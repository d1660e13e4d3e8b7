import { createServer } from 'node:net';

/** Asks the kernel for a free TCP port on 127.0.0.1. Every server the harness starts listens on loopback only. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not read the port of a loopback listener'));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Distinct free ports: the kernel may hand back a just-closed port twice, so duplicates are retried. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n; tries++) {
    if (tries > n * 20) throw new Error(`could not find ${n} distinct free loopback ports`);
    ports.add(await freePort());
  }
  return [...ports];
}
