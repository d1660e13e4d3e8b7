import { describe, expect, it } from '@jest/globals';
import { bearerOf, parseRemote } from './remote.ts';

describe('dashboard --remote', () => {
  it('takes https anywhere and plain http only to a loopback address', () => {
    expect(parseRemote('https://sluice.example.com/dash/').href).toBe('https://sluice.example.com/dash/');
    expect(parseRemote('http://127.0.0.1:8080').host).toBe('127.0.0.1:8080');
    expect(parseRemote('http://localhost:3000').hostname).toBe('localhost');
    expect(parseRemote('http://[::1]:3000').hostname).toBe('[::1]');
    expect(() => parseRemote('http://sluice.example.com')).toThrow('--remote: http:// would send your token in clear');
    expect(() => parseRemote('http://127.example.com')).toThrow('in clear');
    expect(() => parseRemote('ftp://127.0.0.1')).toThrow('in clear');
    expect(() => parseRemote('sluice.example.com')).toThrow('--remote: "sluice.example.com" is not a URL');
    expect(() => parseRemote('https://user:pw@sluice.example.com')).toThrow('no credentials, query or fragment');
  });

  it('forwards a bearer token only', () => {
    expect(bearerOf('Bearer abc.def')).toBe('abc.def');
    expect(() => bearerOf(undefined)).toThrow('--remote needs a bearer token');
    expect(() => bearerOf('Basic dXNlcjpwdw==')).toThrow('client certificates and basic auth cannot be forwarded');
  });
});
