import { describe, expect, it } from '@jest/globals';
import { extractGlobals, parseCommandArgs, parseDuration, positionalArgs } from './args.ts';

describe('global flags', () => {
  it('takes kubectl-style flags out of argv wherever they are, in every spelling', () => {
    expect(extractGlobals(['promote', '-n', 'shop', 'web', '--full', '--context=prod', '-ojson', '--kubeconfig', '/k'])).toEqual({
      globals: { namespace: 'shop', context: 'prod', kubeconfig: '/k', output: 'json', allNamespaces: false, help: false },
      rest: ['promote', 'web', '--full'],
    });
    expect(extractGlobals(['list', '-A', '--output', 'yaml', '-nprod']).globals).toMatchObject({ allNamespaces: true, output: 'yaml', namespace: 'prod' });
    expect(extractGlobals(['get', '--namespace=x', '-h']).globals).toMatchObject({ namespace: 'x', help: true });
    expect(extractGlobals(['lint', '--', '-n', 'f.yaml']).rest).toEqual(['lint', '--', '-n', 'f.yaml']);
    expect(extractGlobals(['get', 'rollout', 'web', '--cluster', 'prod', '--cluster-namespace=argocd'])).toEqual({
      globals: { cluster: 'prod', clusterNamespace: 'argocd', output: 'table', allNamespaces: false, help: false },
      rest: ['get', 'rollout', 'web'],
    });
    expect(() => extractGlobals(['list', '--cluster'])).toThrow('--cluster needs a value');
  });

  it('names the flag of a bad value', () => {
    expect(() => extractGlobals(['list', '-o', 'xml'])).toThrow('-o/--output: "xml" is not one of table, json, yaml');
    expect(() => extractGlobals(['list', '-n'])).toThrow('-n needs a value');
  });
});

describe('command flags', () => {
  it('parses strictly and names unknown flags', () => {
    expect(parseCommandArgs(['web', '--full'], { full: { type: 'boolean' } })).toMatchObject({ values: { full: true }, positionals: ['web'] });
    expect(() => parseCommandArgs(['--fast'], {})).toThrow("Unknown option '--fast'");
  });

  it('checks positionals', () => {
    expect(positionalArgs(['a'], ['rollout'])).toEqual(['a']);
    expect(() => positionalArgs([], ['rollout'])).toThrow('missing ROLLOUT');
    expect(() => positionalArgs(['a', 'b'], ['rollout'])).toThrow('unexpected argument: b');
  });

  it('reads durations as kubectl does', () => {
    expect(parseDuration('--timeout', '90')).toBe(90_000);
    expect(parseDuration('--timeout', '1h30m')).toBe(5_400_000);
    expect(parseDuration('--timeout', '250ms')).toBe(250);
    expect(() => parseDuration('--timeout', '5 minutes')).toThrow('--timeout: "5 minutes" is not a duration');
  });
});
