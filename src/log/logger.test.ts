import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, reconcileLogger } from './logger.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const lines = () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

describe('logger', () => {
  it('writes JSON lines that carry the reconciled object key', () => {
    const { stream, lines } = capture();
    const log = reconcileLogger(createLogger({ destination: stream }), 'rollout', 'shop/checkout');
    log.info({ step: 2 }, 'set weight');
    expect(lines()).toEqual([expect.objectContaining({ app: 'sluice', controller: 'rollout', key: 'shop/checkout', step: 2, msg: 'set weight', level: 30 })]);
  });

  it('drops lines below its level', () => {
    const { stream, lines } = capture();
    const log = createLogger({ level: 'warn', destination: stream });
    log.info('quiet');
    log.warn('loud');
    expect(lines().map((l) => l.msg)).toEqual(['loud']);
  });

  it('refuses an unknown level, naming the choices', () => {
    expect(() => createLogger({ level: 'verbose' })).toThrow(/"verbose" is not one of fatal, error/);
  });
});
