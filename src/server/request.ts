// Helpers for the operator's own HTTP routes (Git webhooks, signed approvals): a body read under a size limit, and a
// comparison of secrets that takes the same time wherever the strings differ.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Equal strings, compared in constant time (for the same length; a length mismatch is refused at once). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The whole body, or undefined after answering 413 (declared or sent over `max` bytes; the socket is closed). */
export async function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer | undefined> {
  const tooLarge = (): undefined => {
    res.writeHead(413, { Connection: 'close' }).end('payload too large\n');
    req.destroy();
    return undefined;
  };
  if (Number(req.headers['content-length'] ?? '0') > max) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
