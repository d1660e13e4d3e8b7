import { describe, expect, it } from '@jest/globals';
import { parseCpuSeconds, parseRss } from './procstat.ts';
import { apiserverWrites, diff, parseLabels, sumBy, total } from './promtext.ts';
import { controllerOwned } from './rollouts.ts';
import { countKubectlRequests } from './gitops.ts';

const scrape = (n: number): string => `# HELP apiserver_request_total x
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="replicasets",scope="resource",subresource="",verb="PATCH",version="v1"} ${n}
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="replicasets",scope="resource",subresource="status",verb="PUT",version="v1"} 4
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="services",scope="resource",subresource="",verb="APPLY",version="v1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="argoproj.io",resource="rollouts",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 9
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 100
apiserver_request_total_other{verb="PATCH"} 1000`;

describe('Prometheus counters', () => {
  it('keys apiserver writes by resource, group, subresource and verb, and skips reads and other metrics', () => {
    expect(Object.fromEntries(apiserverWrites(scrape(3)))).toEqual({
      'replicasets.apps PATCH': 3,
      'replicasets.apps/status PUT': 4,
      'services APPLY': 2,
      'rollouts.argoproj.io/status PATCH': 9,
    });
  });
  it('diffs two scrapes and totals what a controller alone writes (not the ReplicaSet controller\'s status)', () => {
    const d = diff(apiserverWrites(scrape(10)), apiserverWrites(scrape(3)));
    expect(Object.fromEntries(d)).toEqual({ 'replicasets.apps PATCH': 7 });
    expect(total(apiserverWrites(scrape(3)), controllerOwned)).toBe(3 + 2 + 9);
  });
  it('parses escaped label values and label-less samples', () => {
    expect(parseLabels('a="x\\"y",b="z"')).toEqual({ a: 'x"y', b: 'z' });
    expect(sumBy('up 1\nup{job="a"} 2', 'up', () => 'all').get('all')).toBe(3);
  });
});

describe('/proc parsing', () => {
  it('reads VmRSS in bytes', () => {
    expect(parseRss('Name:\tnode\nVmRSS:\t  204800 kB\nVmSwap:\t0 kB\n')).toBe(204800 * 1024);
    expect(() => parseRss('Name:\tzombie\n')).toThrow(/VmRSS/);
  });
  it('adds utime and stime, counting fields after the command name even with spaces and parentheses', () => {
    const stat = '4242 (rollouts (ctl) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0';
    expect(parseCpuSeconds(stat)).toBe(3);
  });
});

describe('kubectl -v=6 request counting', () => {
  it('counts structured and classic response lines only', () => {
    const log = [
      'I1202 12:00:00.1 1 loader.go:402] Config loaded from file',
      'I1202 12:00:00.2 1 round_trippers.go:632] "Response" verb="GET" url="https://127.0.0.1:1/openapi/v3" status="200 OK" milliseconds=3',
      'I1202 12:00:00.3 1 round_trippers.go:553] PATCH https://127.0.0.1:1/api/v1/namespaces/a/configmaps/x?fieldManager=kubectl 200 OK in 4 milliseconds',
    ].join('\n');
    expect(countKubectlRequests(log)).toBe(2);
  });
});
