import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { freePorts } from './ports.ts';

describe('free loopback ports', () => {
  it('returns distinct ports that can be bound on 127.0.0.1', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const port of ports) {
      await new Promise<void>((resolve, reject) => {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
      });
    }
  });
});
