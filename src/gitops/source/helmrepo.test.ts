import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { pickChartVersion } from './helmrepo.ts';
import { RevisionNotFoundError } from './revision.ts';

const index = stringify({
  apiVersion: 'v1',
  entries: {
    web: [
      { version: '1.0.0', urls: ['web-1.0.0.tgz'] },
      { version: '1.1.0', urls: ['https://cdn.example/web-1.1.0.tgz'] },
      { version: '2.0.0-rc.1', urls: ['web-2.0.0-rc.1.tgz'] },
    ],
    db: null,
  },
});

describe('Helm repository index', () => {
  it('picks the version a range names and makes its URL absolute against the repository', () => {
    expect(pickChartVersion(index, 'https://charts.example/stable', 'web', '1.0.x')).toEqual({ chart: 'web', version: '1.0.0', url: 'https://charts.example/stable/web-1.0.0.tgz' });
    expect(pickChartVersion(index, 'https://charts.example/stable/', 'web', '')).toMatchObject({ version: '1.1.0', url: 'https://cdn.example/web-1.1.0.tgz' });
    expect(pickChartVersion(index, 'https://charts.example', 'web', '>=2.0.0-0')).toMatchObject({ version: '2.0.0-rc.1' });
  });
  it('names what is missing: the chart, a matching version, a parsable constraint, a valid index', () => {
    expect(() => pickChartVersion(index, 'https://c', 'api', '*')).toThrow(new RevisionNotFoundError('chart "api" is not in the repository https://c (it has: web, db)'));
    expect(() => pickChartVersion(index, 'https://c', 'db', '*')).toThrow(/chart "db" is not in the repository/);
    expect(() => pickChartVersion(index, 'https://c', 'web', '^3')).toThrow('no version of chart "web" matches "^3" (available: 1.0.0, 1.1.0, 2.0.0-rc.1)');
    expect(() => pickChartVersion(index, 'https://c', 'web', 'newest')).toThrow('targetRevision: "newest" is not a version constraint');
    expect(() => pickChartVersion('<html>', 'https://c', 'web', '*')).toThrow(/index\.yaml is not a Helm repository index/);
  });
});
