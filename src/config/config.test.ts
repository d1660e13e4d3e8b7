import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig, usage } from './config.ts';

describe('operator config', () => {
  it('has defaults for everything', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ namespaces: [], qps: 200, burst: 400, workers: 4, rolloutWorkers: 16, metricsAddr: '127.0.0.1:8080', leaderElect: false, logLevel: 'info', leaderElectionLeaseDuration: 15, leaderElectionRenewDeadline: 10, leaderElectionRetryPeriod: 2 });
  });

  it('turns sharding on from a flag or the environment (off by default)', () => {
    expect(loadConfig([], {}).shards).toBe('off');
    expect(loadConfig(['--shards=auto', '--identity=sluice-0'], {}).shards).toBe('auto');
    expect(loadConfig([], { SLUICE_SHARDS: 'auto', POD_NAME: 'sluice-7d9f-abcde' }).shards).toBe('auto');
  });

  it('reads the environment and lets flags win', () => {
    const c = loadConfig(['--workers=8', '--namespace', 'a,b', '--leader-elect'], { SLUICE_WORKERS: '2', SLUICE_QPS: '20', SLUICE_NAMESPACES: 'x' });
    expect(c.workers).toBe(8);
    expect(c.qps).toBe(20);
    expect(c.namespaces).toEqual(['a', 'b']);
    expect(c.leaderElect).toBe(true);
  });

  it.each([
    [['--workers=lots'], /flag --workers: "lots" is not a number/],
    [['--workers=0'], /flag --workers: .*>=1/],
    [['--frobnicate'], /unknown flag --frobnicate/],
    [['--metrics-addr=8080'], /flag --metrics-addr: must be HOST:PORT/],
    [['--namespace=Bad_NS'], /flag --namespace: must be a DNS-1123 label/],
    [['--log-level=loud'], /flag --log-level/],
    [['--qps'], /flag --qps needs a value/],
    [['stray'], /unexpected argument "stray"/],
    [['--leader-election-lease-duration=3', '--leader-election-renew-deadline=3'], /flag --leader-election-renew-deadline: must be less than the lease duration \(3 s\)/],
    [['--leader-election-retry-period=0'], /flag --leader-election-retry-period: .*>0/],
    [['--shards=3'], /flag --shards: must be "auto" or "off"/],
    [['--shards=auto', '--identity=Pod_1'], /flag --identity: must be a lowercase DNS-1123 name/],
  ])('rejects %p, naming the flag', (argv, msg) => {
    expect(() => loadConfig(argv, {})).toThrow(ConfigError);
    expect(() => loadConfig(argv, {})).toThrow(msg);
  });

  it('names the environment variable when that is where a bad value came from', () => {
    expect(() => loadConfig([], { SLUICE_LEADER_ELECT: 'maybe' })).toThrow(/environment variable SLUICE_LEADER_ELECT: "maybe" is not true or false/);
  });

  it('takes shorter leader-election timings (the chaos campaign fails over every few seconds)', () => {
    const c = loadConfig(['--leader-election-lease-duration=3', '--leader-election-renew-deadline=2', '--leader-election-retry-period=0.5'], {});
    expect(c).toMatchObject({ leaderElectionLeaseDuration: 3, leaderElectionRenewDeadline: 2, leaderElectionRetryPeriod: 0.5 });
  });

  it('takes the Git deadline and size limits (defaults: 60 s, 64 MiB a fetch, 5000 files, 32 MiB of files); refuses a zero', () => {
    expect(loadConfig([], {})).toMatchObject({ gitTimeout: 60, gitMaxFetchBytes: 64 * 1024 * 1024, gitMaxFiles: 5000, gitMaxTreeBytes: 32 * 1024 * 1024 });
    expect(loadConfig(['--git-timeout=3', '--git-max-files=40', '--git-max-fetch-bytes=2000000'], { SLUICE_GIT_MAX_TREE_BYTES: '1000' })).toMatchObject({ gitTimeout: 3, gitMaxFiles: 40, gitMaxFetchBytes: 2_000_000, gitMaxTreeBytes: 1000 });
    expect(() => loadConfig(['--git-max-files=0'], {})).toThrow(/flag --git-max-files: /);
  });

  it('documents every flag', () => {
    for (const f of ['--kubeconfig', '--namespace', '--qps', '--burst', '--workers', '--metrics-addr', '--leader-elect', '--log-level', '--git-timeout', '--git-max-files', '--git-max-fetch-bytes', '--git-max-tree-bytes']) expect(usage()).toContain(f);
  });
});
