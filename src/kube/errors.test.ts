import { describe, expect, it } from '@jest/globals';
import { errorFromResponse, isConflict, isGone, isNotFound, networkError } from './errors.ts';

const status = (code: number, reason: string, message: string, details?: object) => JSON.stringify({ kind: 'Status', code, reason, message, details });

describe('apiserver errors', () => {
  it.each([
    [404, 'NotFound', 'NotFound', false],
    [409, 'AlreadyExists', 'AlreadyExists', false],
    [409, 'Conflict', 'Conflict', true],
    [410, 'Expired', 'Gone', true],
    [422, 'Invalid', 'Invalid', false],
    [403, 'Forbidden', 'Forbidden', false],
    [429, 'TooManyRequests', 'TooManyRequests', true],
    [500, 'InternalError', 'ServerError', true],
    [504, 'Timeout', 'Timeout', true],
  ] as const)('maps %i %s to %s (transient: %p)', (code, reason, kind, transient) => {
    const e = errorFromResponse(code, status(code, reason, 'm'));
    expect(e.kind).toBe(kind);
    expect(e.transient).toBe(transient);
    expect(e.message).toBe('m');
  });

  it('keeps the field causes of an Invalid error and the server-suggested retry delay', () => {
    const e = errorFromResponse(422, status(422, 'Invalid', 'bad', { causes: [{ field: 'spec.replicas', message: 'must be int' }] }));
    expect(e.causes).toEqual([{ field: 'spec.replicas', message: 'must be int' }]);
    expect(errorFromResponse(429, 'slow down', '7').retryAfterSeconds).toBe(7);
  });

  it('uses the body text when it is not a Status', () => {
    expect(errorFromResponse(502, '<html>bad gateway</html>').message).toBe('<html>bad gateway</html>');
    expect(errorFromResponse(503, '').message).toBe('HTTP 503');
  });

  it('classifies with the predicates, and network failures as transient', () => {
    expect(isNotFound(errorFromResponse(404, ''))).toBe(true);
    expect(isConflict(errorFromResponse(409, status(409, 'AlreadyExists', 'x')))).toBe(true);
    expect(isGone(errorFromResponse(410, ''))).toBe(true);
    expect(isNotFound(new Error('404'))).toBe(false);
    const n = networkError(new Error('ECONNREFUSED'), 'GET /api');
    expect(n.kind).toBe('Network');
    expect(n.transient).toBe(true);
    expect(n.message).toContain('GET /api: ECONNREFUSED');
  });
});
