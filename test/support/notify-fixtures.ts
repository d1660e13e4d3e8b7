// The notification ConfigMap and Secret the notification integration tests share: Argo's shape, our wording.

export const COMMIT = '0123456789abcdef0123456789abcdef01234567';

// Argo's ConfigMap shape (triggers send templates; templates hold message, email.subject, slack.attachments,
// webhook.<name>, github), in our own words.
export function configMap(http: string, smtpPort: number, extra: Record<string, string> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'argo-rollouts-notification-configmap' },
    data: {
      'service.slack': `token: $slack-token\napiURL: ${http}/slack\n`,
      'service.webhook.hook': `url: ${http}/hook\nheaders:\n- name: Authorization\n  value: Bearer $hook-token\n`,
      'service.email': `host: 127.0.0.1\nport: ${smtpPort}\nfrom: sluice@example.test\nusername: $smtp-user\npassword: $smtp-password\ninsecure_skip_verify: true\n`,
      'service.github': `token: $github-token\napiURL: ${http}/github\n`,
      'trigger.on-rollout-completed': '- send: [rollout-completed, commit-success]\n',
      'trigger.on-rollout-aborted': '- send: [rollout-aborted]\n',
      'template.rollout-completed': [
        'message: Rollout {{.rollout.metadata.name}} completed revision {{.rollout.status.currentPodHash}}.',
        'slack:',
        '  attachments: |',
        '    [{"title": "{{ .rollout.metadata.name}}", "color": "#18be52", "fields": [',
        '    {"title": "Strategy", "value": "{{if .rollout.spec.strategy.blueGreen}}BlueGreen{{end}}{{if .rollout.spec.strategy.canary}}Canary{{end}}", "short": true}',
        '    {{range $index, $c := .rollout.spec.template.spec.containers}}, {"title": "{{$c.name}}", "value": "{{$c.image}}", "short": true}{{end}}',
        '    ]}]',
      ].join('\n'),
      'template.commit-success': [
        'github:',
        '  repoURLPath: https://github.test/acme/web.git',
        '  revisionPath: \'{{index .rollout.metadata.annotations "example.test/commit"}}\'',
        '  status:',
        '    state: success',
        '    label: sluice/{{.rollout.metadata.name}}',
      ].join('\n'),
      'template.rollout-aborted': [
        'message: |',
        '  Rollout {{.rollout.metadata.name}} aborted revision {{.rollout.status.currentPodHash}}{{with .rollout.status.message}}: {{.}}{{end}}',
        '  {{with .rollout.status.canary}}{{with .currentStepAnalysisRunStatus}}Analysis {{.name}} {{.status}}{{with .message}}: {{.}}{{end}}{{end}}{{end}}',
        'email:',
        '  subject: "Rollout {{.rollout.metadata.name}} aborted"',
        'webhook:',
        '  hook:',
        '    method: POST',
        '    path: /aborted',
        '    body: \'{"rollout": {{.rollout.metadata.name | toJson}}, "revision": "{{.rollout.status.currentPodHash}}"}\'',
      ].join('\n'),
      ...extra,
    },
  };
}

export const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'argo-rollouts-notification-secret' },
  stringData: { 'slack-token': 'xoxb-very-secret', 'hook-token': 'hook-very-secret', 'smtp-user': 'sluice', 'smtp-password': 'smtp-very-secret', 'github-token': 'ghp-very-secret' },
};

