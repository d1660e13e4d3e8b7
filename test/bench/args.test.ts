import { describe, expect, it } from '@jest/globals';
import { ArgsError, DEFAULTS, parseArgs } from './args.ts';

describe('bench flags', () => {
  it('defaults to every scenario, N=100, both controllers', () => {
    expect(parseArgs([])).toEqual(DEFAULTS);
  });
  it('takes --flag=value and --flag value, and lists', () => {
    expect(parseArgs(['--scenario=rollouts,istio', '--n', '1000', '--controllers=sluice'])).toMatchObject({ scenarios: ['rollouts', 'istio'], n: 1000, controllers: ['sluice'] });
  });
  it('--quick and --full are presets that explicit flags override, wherever they stand', () => {
    expect(parseArgs(['--n=7', '--quick'])).toMatchObject({ n: 7, cycles: 2, appSizes: [100] });
    expect(parseArgs(['--full'])).toMatchObject({ appSizes: [100, 1000, 5000] });
  });
  it('names the flag of a bad value', () => {
    expect(() => parseArgs(['--scenario=nope'])).toThrow(/--scenario/);
    expect(() => parseArgs(['--n=0'])).toThrow(/--n/);
    expect(() => parseArgs(['--app-sizes=10,x'])).toThrow(/--app-sizes/);
    expect(() => parseArgs(['--bogus=1'])).toThrow(ArgsError);
    expect(() => parseArgs(['stray'])).toThrow(/unexpected argument "stray"/);
  });
});
