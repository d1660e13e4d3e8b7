import { describe, expect, it } from '@jest/globals';
import { loadConfig } from './config.ts';
import { renderNotification, templateData } from './render.ts';
import { formatGo } from './template/gotime.ts';

describe('rendering a notification', () => {
  const cfg = loadConfig(
    'ns/cm',
    {
      context: 'argocdUrl: https://cd.example.test',
      'template.a': 'message: "{{.app.metadata.name}} at {{.context.argocdUrl}}"\nslack:\n  attachments: "[]"\n',
      'template.b': 'slack:\n  blocks: \'[{"type":"section"}]\'\ngithub:\n  status:\n    state: success\n',
      'template.repo': 'message: "{{call .repo.RepoURLToHTTPS .app.spec.source.repoURL}} {{call .repo.FullNameByRepoURL .app.spec.source.repoURL}}"',
    },
    {},
  );
  const app = { metadata: { name: 'guestbook' }, spec: { source: { repoURL: 'git@github.com:acme/guestbook.git' } }, status: { operationState: { syncResult: { revision: 'abc1234' } } } };
  const data = templateData('app', app, cfg.context, 'slack', 'chan');

  it('merges the templates a trigger sends, section by section, and fills the commit defaults as Argo does', () => {
    const n = renderNotification([cfg.templates.get('a'), cfg.templates.get('b')].filter((t) => t !== undefined), data);
    expect(n).toEqual({
      message: 'guestbook at https://cd.example.test',
      slack: { attachments: '[]', blocks: '[{"type":"section"}]' },
      github: { status: { state: 'success' }, repoURLPath: 'git@github.com:acme/guestbook.git', revisionPath: 'abc1234' },
    });
  });

  it("offers Argo's repo helpers", () => {
    const t = cfg.templates.get('repo');
    expect(t && renderNotification([t], data)).toEqual({ message: 'https://github.com/acme/guestbook acme/guestbook' });
  });

  it("formats Go's reference layouts", () => {
    const d = new Date(Date.UTC(2026, 11, 2, 9, 5, 7, 120));
    expect(formatGo(d, '2006-01-02T15:04:05.000Z07:00')).toBe('2026-12-02T09:05:07.120Z');
    expect(formatGo(d, 'Mon Jan _2 3:04:05.999 PM MST 2006')).toBe('Wed Dec  2 9:05:07.12 AM UTC 2026');
    expect(formatGo(d, 'January 2, 06 -0700')).toBe('December 2, 26 +0000');
  });
});
