// The dashboard in the browser: Preact components written with htm (no build-time JSX), fed by the server's
// event streams (src/dashboard/streams.ts). Hash routes: #/ (overview, its filters in the query), #/rollout/NS/NAME,
// #/app/NS/NAME. Every state has text, not only a colour; every control is a button, link or form field.
/* global window, document, EventSource */
import { h, render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const MARK = { Healthy: '✔', Synced: '✔', Progressing: '◌', Paused: '‖', Degraded: '✖', OutOfSync: '≠', Missing: '?', Unknown: '?', Suspended: '‖', Successful: '✔', Succeeded: '✔', Failed: '✖', Error: '✖', Running: '◌', Inconclusive: '?', Pending: '…' };

function Badge({ value }) {
  const key = String(value ?? 'Unknown').split(' ')[0];
  return html`<span class=${`badge s-${key}`}><span aria-hidden="true">${MARK[key] ?? '•'} </span>${value}</span>`;
}

function parseRoute() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function useRoute() {
  const [route, setRoute] = useState(parseRoute());
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** An EventSource as state: the page's data, the problem to show, whether it is connected. */
function useStream(url, onEvent) {
  const [problem, setProblem] = useState(undefined);
  const [connected, setConnected] = useState(false);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    setProblem(undefined);
    const es = new EventSource(url);
    const on = (name, fn) => es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    es.onopen = () => setConnected(true);
    es.onerror = () => {
      setConnected(false);
      if (es.readyState === EventSource.CLOSED) setProblem({ status: 0, message: 'the dashboard server cannot be reached' });
    };
    on('problem', (p) => {
      setProblem(p);
      if (p.fatal) es.close();
    });
    on('ok', () => setProblem(undefined));
    for (const name of ['snapshot', 'rows', 'page']) on(name, (d) => {
      setProblem((p) => (p && p.status === 503 ? undefined : p));
      handler.current(name, d);
    });
    return () => es.close();
  }, [url]);
  return { problem, connected };
}

function ProblemBanner({ problem }) {
  if (!problem) return null;
  return html`<div class="problem" role="alert"><strong>${problem.status === 403 ? 'Forbidden' : problem.status === 404 ? 'Not found' : problem.status === 503 ? 'Apiserver unreachable' : 'Problem'}:</strong> ${problem.message}</div>`;
}

function WeightBar({ weight }) {
  if (weight === undefined) return html`<span class="muted">–</span>`;
  return html`<span class="weight" title=${`${weight}% to the canary`}><span class="bar" aria-hidden="true"><span class="fill" style=${{ width: `${weight}%` }}></span></span><span class="num">${weight}%</span></span>`;
}

function Overview({ query, session }) {
  const [rows, setRows] = useState(new Map());
  const [loaded, setLoaded] = useState(false);
  const ns = query.get('namespace') ?? '';
  const filter = { phase: query.get('phase') ?? '', health: query.get('health') ?? '', attention: query.get('attention') === '1', text: query.get('q') ?? '' };
  const { problem } = useStream(`/api/stream/overview${ns ? `?namespace=${encodeURIComponent(ns)}` : ''}`, (name, d) => {
    const key = (r) => `${r.kind}/${r.namespace}/${r.name}`;
    if (name === 'snapshot') {
      setRows(new Map(d.rows.map((r) => [key(r), r])));
      setLoaded(true);
    } else if (name === 'rows') {
      setRows((old) => {
        const next = new Map(old);
        for (const r of d.upserts) next.set(key(r), r);
        for (const k of d.gone) next.delete(k);
        return next;
      });
    }
  });
  const all = [...rows.values()];
  const shown = all
    .filter((r) => (!filter.phase || r.phase.startsWith(filter.phase)) && (!filter.health || r.health === filter.health) && (!filter.attention || r.attention.length > 0) && (!filter.text || `${r.namespace}/${r.name}`.includes(filter.text)))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  const attention = all.filter((r) => r.attention.length > 0).length;
  const set = (k, v) => {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    window.location.hash = `#/?${q}`;
  };
  const namespaces = [...new Set(all.map((r) => r.namespace))].sort();
  return html`<section aria-labelledby="overview-title">
    <div class="titlebar"><h1 id="overview-title">Releases and applications</h1>
      <span class=${`attention ${attention > 0 ? 'some' : ''}`} data-testid="attention">${attention} need${attention === 1 ? 's' : ''} attention</span></div>
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filters">
      <label>Namespace <input name="namespace" list="namespaces" value=${ns} placeholder="all" onChange=${(e) => set('namespace', e.currentTarget.value.trim())} /></label>
      <datalist id="namespaces">${namespaces.map((n) => html`<option value=${n} />`)}</datalist>
      <label>Phase <select value=${filter.phase} onChange=${(e) => set('phase', e.currentTarget.value)}>
        ${['', 'Healthy', 'Progressing', 'Paused', 'Degraded', 'Synced', 'OutOfSync'].map((p) => html`<option value=${p}>${p || 'any'}</option>`)}</select></label>
      <label>Health <select value=${filter.health} onChange=${(e) => set('health', e.currentTarget.value)}>
        ${['', 'Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'].map((p) => html`<option value=${p}>${p || 'any'}</option>`)}</select></label>
      <label>Name <input type="search" value=${filter.text} onInput=${(e) => set('q', e.currentTarget.value)} /></label>
      <label class="check"><input type="checkbox" checked=${filter.attention} onChange=${(e) => set('attention', e.currentTarget.checked ? '1' : '')} /> needs attention</label>
    </form>
    <${ProblemBanner} problem=${problem} />
    ${!loaded && !problem ? html`<p class="muted">Loading…</p>` : null}
    ${loaded && shown.length === 0 ? html`<p class="muted">Nothing ${all.length > 0 ? 'matches these filters' : `to show${ns ? ` in namespace "${ns}"` : ''}`}.</p>` : null}
    ${shown.length > 0 ? html`<table class="rows"><thead><tr><th>Kind</th><th>Namespace</th><th>Name</th><th>Phase / sync</th><th>Health</th><th>Weight</th><th>Step</th><th class="wide">Message</th></tr></thead>
      <tbody>${shown.map((r) => html`<tr key=${`${r.kind}/${r.namespace}/${r.name}`} data-row=${`${r.kind}/${r.namespace}/${r.name}`} class=${r.attention.length > 0 ? 'needs' : ''}>
        <td>${r.kind}</td><td>${r.namespace}</td>
        <td><a href=${`#/${r.kind === 'Rollout' ? 'rollout' : 'app'}/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`}>${r.name}</a>${r.attention.length > 0 ? html` <span class="why">(${r.attention.join(', ')})</span>` : null}</td>
        <td><${Badge} value=${r.phase} /></td><td><${Badge} value=${r.health} /></td>
        <td data-weight=${r.weight ?? ''}><${WeightBar} weight=${r.weight} /></td><td>${r.step ?? ''}</td><td class="wide">${r.message}</td></tr>`)}</tbody></table>` : null}
    <p class="muted small">${all.length} object${all.length === 1 ? '' : 's'}, live. Signed in as ${session.user}.</p>
  </section>`;
}

/** A line chart in SVG: points [{x, y}], y from `min` to `max`; optional horizontal guide lines. */
function LineChart({ points, min = 0, max = 100, label, unit = '', guides = [] }) {
  const W = 600;
  const H = 160;
  const P = 28;
  if (points.length === 0) return html`<p class="muted">No data yet.</p>`;
  const xs = points.map((p) => p.x);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const hi = Math.max(max, ...points.map((p) => p.y));
  const lo = Math.min(min, ...points.map((p) => p.y));
  const sx = (x) => P + ((x - x0) / (x1 - x0)) * (W - 2 * P);
  const sy = (y) => H - P - ((y - lo) / (hi - lo || 1)) * (H - 2 * P);
  // A step line: the value holds until the next point.
  const d = points.map((p, i) => `${i === 0 ? 'M' : `H${sx(p.x).toFixed(1)} V`}${i === 0 ? `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}` : sy(p.y).toFixed(1)}`).join(' ') + ` H${W - P}`;
  return html`<figure class="chart"><svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${label}: ${points.map((p) => `${p.y}${unit}`).join(', ')}`}>
    <line class="axis" x1=${P} y1=${H - P} x2=${W - P} y2=${H - P} /><line class="axis" x1=${P} y1=${P} x2=${P} y2=${H - P} />
    <text x="2" y=${sy(hi) + 4} class="tick">${tick(hi)}${unit}</text><text x="2" y=${sy(lo) + 4} class="tick">${tick(lo)}${unit}</text>
    ${guides.map((g) => html`<line class="guide" x1=${P} x2=${W - P} y1=${sy(g.y)} y2=${sy(g.y)} /><text class="tick" x=${W - P - 4} y=${sy(g.y) - 4} text-anchor="end">${g.label}</text>`)}
    <path class="line" d=${d} />
    ${points.map((p) => html`<circle class="pt" cx=${sx(p.x)} cy=${sy(p.y)} r="3"><title>${new Date(p.x).toLocaleTimeString()}: ${p.y}${unit}</title></circle>`)}
  </svg><figcaption>${label}</figcaption></figure>`;
}

const tick = (v) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(2))));

/**
 * A metric's measurements, scaled to their own range (an error rate of 0.002 must not be a flat line at the bottom of
 * 0..1), with the success condition's bound drawn when it is a plain comparison of the result with a number.
 */
function MetricChart({ m }) {
  const points = m.values.map((v, i) => ({ x: Date.parse(v.at) || i, y: v.value }));
  const bound = /^\s*result(?:\[0\])?\s*([<>]=?)\s*(-?[\d.]+(?:e-?\d+)?)\s*$/.exec(m.successCondition ?? '');
  const guides = bound ? [{ y: Number(bound[2]), label: `pass ${bound[1]} ${bound[2]}` }] : [];
  const top = Math.max(...points.map((p) => p.y), ...guides.map((g) => g.y), 0);
  return html`<${LineChart} label=${`${m.name} measurements`} min=${0} max=${top > 0 ? top * 1.2 : 1} points=${points} guides=${guides} />`;
}

function Confirm({ ask, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    if (ask && ref.current && !ref.current.open) ref.current.showModal();
  }, [ask]);
  if (!ask) return null;
  return html`<dialog ref=${ref} class="confirm" aria-labelledby="confirm-title" onClose=${() => onClose(false)}>
    <h2 id="confirm-title">${ask.title}</h2><p>${ask.text}</p>
    <div class="buttons"><button type="button" onClick=${() => onClose(false)}>Cancel</button>
    <button type="button" class=${ask.danger ? 'danger' : 'primary'} data-confirm="yes" onClick=${() => onClose(true)} autofocus>${ask.title}</button></div></dialog>`;
}

/** Buttons that POST an action after a confirmation; the answer (or the refusal) is shown. */
function Actions({ base, session, actions }) {
  const [ask, setAsk] = useState(undefined);
  const [result, setResult] = useState(undefined);
  if (session.readOnly) return html`<p class="muted">Read-only dashboard: actions are off.</p>`;
  const run = async (a) => {
    setResult({ pending: true, message: `${a.title}…` });
    try {
      const res = await fetch(`${base}/${a.id}${a.query ?? ''}`, { method: 'POST', headers: { 'X-Sluice-CSRF': session.csrf } });
      const body = await res.json().catch(() => ({ message: res.statusText }));
      setResult({ ok: res.ok, status: res.status, message: body.message || (res.ok ? 'done' : res.statusText) });
    } catch (e) {
      setResult({ ok: false, message: `the dashboard server cannot be reached (${e.message})` });
    }
  };
  return html`<div class="actions" role="group" aria-label="Actions">
    ${actions.map((a) => html`<button type="button" data-action=${a.id} class=${a.danger ? 'danger' : ''} onClick=${() => setAsk(a)}>${a.title}</button>`)}
    <${Confirm} ask=${ask} onClose=${(yes) => {
      const a = ask;
      setAsk(undefined);
      if (yes && a) void run(a);
    }} />
    ${result ? html`<p class=${`result ${result.pending ? '' : result.ok ? 'ok' : 'err'}`} role="status" data-testid="action-result">${result.pending ? '' : result.ok ? '✔ ' : '✖ '}${result.message}</p>` : null}
  </div>`;
}

const ROLLOUT_ACTIONS = [
  { id: 'promote', title: 'Promote', text: 'Move past the current pause or step (kubectl sluice promote).' },
  { id: 'promote-full', title: 'Promote full', text: 'Skip every remaining step and analysis: the new revision becomes stable (promote --full).' },
  { id: 'pause', title: 'Pause', text: 'Hold the Rollout where it is (spec.paused).' },
  { id: 'resume', title: 'Resume', text: 'Unpause a Rollout paused with Pause.' },
  { id: 'abort', title: 'Abort', text: 'Send all traffic and pods back to the stable revision.', danger: true },
  { id: 'retry', title: 'Retry', text: 'Start an aborted update again from its first step.' },
  { id: 'restart', title: 'Restart', text: 'Restart the pods, a batch at a time.' },
  { id: 'undo', title: 'Undo', text: "Roll back to the previous revision's pod template.", danger: true },
];

function Judge({ j }) {
  const bar = (label, g) => html`<div class="gauge"><span>${label}</span><progress max="1" value=${Math.max(0, Math.min(1, g.progress))}></progress><span>${Math.round(100 * Math.max(0, Math.min(1, g.progress)))}%</span></div>`;
  return html`<div class="judge"><p>Sequential judge: <strong>${j.state}</strong>; canary ${j.totals.canary.bad}/${j.totals.canary.requests} bad, stable ${j.totals.stable.bad}/${j.totals.stable.requests} bad.</p>
    ${bar('evidence toward abort', j.abort)}${bar('evidence toward pass', j.pass)}${j.needed && j.state === 'continue' ? html`<p class="muted">${j.needed.reason}</p>` : null}</div>`;
}

function RolloutPage({ ns, name, session }) {
  const [page, setPage] = useState(undefined);
  const { problem } = useStream(`/api/stream/rollout/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`, (ev, d) => ev === 'page' && setPage(d));
  const gone = problem && problem.status === 404;
  return html`<section aria-labelledby="rollout-title">
    <p><a href="#/">← Overview</a></p>
    <div class="titlebar"><h1 id="rollout-title">Rollout ${ns}/${name}</h1>${page && !gone ? html`<${Badge} value=${page.phase + (page.aborted ? ' (aborted)' : '')} />` : null}</div>
    <${ProblemBanner} problem=${problem} />
    ${!page && !problem ? html`<p class="muted">Loading…</p>` : null}
    ${page && !gone ? html`
      ${page.message ? html`<p class="message" data-testid="rollout-message">${page.message}</p>` : null}
      <p>Canary weight: <strong data-testid="weight">${page.weight ?? '–'}${page.weight !== undefined ? '%' : ''}</strong></p>
      <${Actions} base=${`/api/rollout/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`} session=${session} actions=${ROLLOUT_ACTIONS} />
      <div class="grid">
        <div><h2>Steps</h2>${page.steps.length === 0 ? html`<p class="muted">${page.strategy === 'blueGreen' ? 'Blue-green: no steps.' : 'No steps.'}</p>` : html`<ol class="steps" start="0">${page.steps.map((s) => html`<li class=${s.state} aria-current=${s.state === 'current' ? 'step' : undefined}><span class="mark" aria-hidden="true">${s.state === 'done' ? '✔' : s.state === 'current' ? '▶' : '○'}</span> ${s.text}${s.state === 'current' ? html` <em>(current)</em>` : null}</li>`)}</ol>`}</div>
        <div><h2>Weight over time</h2><${LineChart} label="canary weight (%), as the dashboard saw it" unit="%" points=${page.history.map((p) => ({ x: p.t, y: p.weight }))} /></div>
      </div>
      <h2>ReplicaSets</h2>
      <table><thead><tr><th>Revision</th><th>Name</th><th>Role</th><th>Pods ready</th><th class="wide">Images</th></tr></thead>
        <tbody>${page.replicaSets.map((r) => html`<tr><td>${r.revision}</td><td>${r.name}</td><td>${r.role || '–'}</td><td>${r.ready}/${r.replicas}</td><td class="wide">${r.images}</td></tr>
          ${r.pods && r.pods.length > 0 ? html`<tr class="pods"><td></td><td colspan="4"><ul class="pods" aria-label=${`pods of ${r.name}`}>${r.pods.map((p) => html`<li data-pod=${p.name}>${p.ready ? '✔' : '○'} ${p.name} <span class="muted">${p.ready ? 'ready' : p.phase}${p.restarts > 0 ? `, ${p.restarts} restarts` : ''}</span></li>`)}</ul></td></tr>` : null}`)}</tbody></table>
      ${page.replicaSets.some((r) => r.pods === undefined) ? html`<p class="muted small">Pods are not shown: you may not list pods in this namespace.</p>` : null}
      <h2>Analysis</h2>
      ${page.analysisRuns.length === 0 ? html`<p class="muted">No AnalysisRun.</p>` : page.analysisRuns.map((run) => html`<div class="run"><h3>${run.name} <${Badge} value=${run.phase} />${run.step !== undefined ? html` <span class="muted">step ${run.step}</span>` : null}</h3>
        ${run.metrics.map((m) => html`<div class="metric"><h4>${m.name} <${Badge} value=${m.phase} /></h4>
          <p class="small">${m.counts.successful} successful, ${m.counts.failed} failed, ${m.counts.inconclusive} inconclusive, ${m.counts.error} errors${m.successCondition ? html`; pass when <code>${m.successCondition}</code>` : null}${m.failureCondition ? html`; fail when <code>${m.failureCondition}</code>` : null}</p>
          ${m.judge ? html`<${Judge} j=${m.judge} />` : html`<${MetricChart} m=${m} />`}
          ${m.message ? html`<p class="muted">${m.message}</p>` : null}</div>`)}</div>`)}
      <h2>Events</h2>
      ${page.events.length === 0 ? html`<p class="muted">No events.</p>` : html`<table><thead><tr><th>When</th><th>Type</th><th>Reason</th><th class="wide">Message</th></tr></thead><tbody>${page.events.map((e) => html`<tr><td>${e.at ? new Date(e.at).toLocaleTimeString() : ''}</td><td>${e.type === 'Warning' ? '⚠ Warning' : e.type}</td><td>${e.reason}</td><td class="wide">${e.message}${e.count > 1 ? ` (×${e.count})` : ''}</td></tr>`)}</tbody></table>`}
    ` : null}
  </section>`;
}

const APP_ACTIONS = [
  { id: 'sync', title: 'Sync', text: 'Apply what Git declares now (kubectl sluice app sync).' },
  { id: 'sync-prune', title: 'Sync with prune', text: 'Apply what Git declares and delete what Git no longer has.', danger: true },
  { id: 'refresh', title: 'Refresh', text: 'Look at Git now instead of at the next poll.' },
];

function Diff({ ns, name }) {
  const [diff, setDiff] = useState(undefined);
  const load = async () => {
    setDiff({ loading: true });
    const res = await fetch(`/api/app/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/diff`);
    const body = await res.json().catch(() => ({ message: res.statusText }));
    setDiff(res.ok ? body : { error: body.message });
  };
  return html`<div class="diff"><button type="button" onClick=${() => void load()}>${diff ? 'Compute the diff again' : 'Show what a sync would change'}</button>
    ${diff?.loading ? html`<p class="muted">Fetching Git and dry-running…</p>` : null}
    ${diff?.error ? html`<div class="problem" role="alert">${diff.error}</div>` : null}
    ${diff?.changes ? html`<p>At commit <code>${diff.commit.slice(0, 7)}</code>: ${diff.changes.length} change${diff.changes.length === 1 ? '' : 's'}, ${diff.unchanged} unchanged.</p>
      ${diff.changes.map((c) => html`<details open><summary>${c.action}: ${c.ref.kind} ${c.ref.namespace ? `${c.ref.namespace}/` : ''}${c.ref.name}</summary><pre>${c.detail}</pre></details>`)}` : null}</div>`;
}

function AppPage({ ns, name, session }) {
  const [page, setPage] = useState(undefined);
  const { problem } = useStream(`/api/stream/app/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`, (ev, d) => ev === 'page' && setPage(d));
  const gone = problem && problem.status === 404;
  return html`<section aria-labelledby="app-title">
    <p><a href="#/">← Overview</a></p>
    <div class="titlebar"><h1 id="app-title">Application ${ns}/${name}</h1>${page && !gone ? html`<span data-testid="app-sync"><${Badge} value=${page.sync} /></span> <${Badge} value=${page.health} />` : null}</div>
    <${ProblemBanner} problem=${problem} />
    ${!page && !problem ? html`<p class="muted">Loading…</p>` : null}
    ${page && !gone ? html`
      <p>Source <code>${page.source}</code>${page.revision ? html`, synced to <code>${page.revision.slice(0, 7)}</code>` : null}</p>
      ${page.operation ? html`<p>Last sync: <${Badge} value=${page.operation.phase} /> ${page.operation.message} <span class="muted">${page.operation.finishedAt || page.operation.startedAt}</span></p>` : null}
      ${page.conditions.map((c) => html`<p class="problem" role="note">${c.type}: ${c.message}</p>`)}
      <${Actions} base=${`/api/app/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`} session=${session} actions=${APP_ACTIONS} />
      <h2>Resources</h2>
      ${page.waves.length === 0 ? html`<p class="muted">No resources yet.</p>` : page.waves.map((w) => html`<h3>Wave ${w.wave}</h3><table class="tree"><thead><tr><th>Kind</th><th>Namespace</th><th>Name</th><th>Sync</th><th>Health</th><th class="wide">Message</th></tr></thead>
        <tbody>${w.resources.map((r) => html`<tr data-resource=${`${r.kind}/${r.name}`}><td>${r.group ? `${r.kind}.${r.group}` : r.kind}</td><td>${r.namespace}</td><td>${r.name}</td><td><${Badge} value=${r.sync} /></td><td>${r.health ? html`<${Badge} value=${r.health} />` : '–'}</td><td class="wide">${r.message}</td></tr>`)}</tbody></table>`)}
      <h2>Diff</h2><${Diff} ns=${ns} name=${name} />
      <h2>Sync history</h2>
      ${page.history.length === 0 ? html`<p class="muted">No sync yet.</p>` : html`<table><thead><tr><th>#</th><th>Commit</th><th>Deployed</th></tr></thead><tbody>${page.history.map((x) => html`<tr><td>${x.id}</td><td><code>${x.revision.slice(0, 12)}</code></td><td>${new Date(x.deployedAt).toLocaleString()}</td></tr>`)}</tbody></table>`}
    ` : null}
  </section>`;
}

function Login({ onDone }) {
  const [error, setError] = useState(undefined);
  const submit = async (e) => {
    e.preventDefault();
    const token = new FormData(e.currentTarget).get('token');
    const res = await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
    if (res.ok) onDone();
    else setError((await res.json().catch(() => ({}))).message ?? res.statusText);
  };
  return html`<section class="login" aria-labelledby="login-title"><h1 id="login-title">Sign in to Sluice</h1>
    <p>Paste a Kubernetes bearer token (<code>kubectl create token NAME</code>, or your OIDC ID token). The dashboard acts with it: you see and do what your RBAC allows.</p>
    <form onSubmit=${submit}><label>Token <textarea name="token" rows="4" required autocomplete="off" spellcheck="false"></textarea></label>
    <button type="submit" class="primary">Sign in</button></form>${error ? html`<div class="problem" role="alert">${error}</div>` : null}</section>`;
}

function ThemeToggle() {
  const [theme, setTheme] = useState(() => localStorage.getItem('sluice-theme') ?? '');
  useEffect(() => {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    localStorage.setItem('sluice-theme', theme);
  }, [theme]);
  const next = theme === 'dark' ? 'light' : theme === 'light' ? '' : 'dark';
  return html`<button type="button" class="theme" onClick=${() => setTheme(next)} aria-label=${`Theme: ${theme || 'system'}; switch to ${next || 'system'}`}>Theme: ${theme || 'system'}</button>`;
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(undefined);
  const [sessionError, setSessionError] = useState(undefined);
  const load = useMemo(() => async () => {
    try {
      const res = await fetch('/api/session');
      if (res.status === 401) return setSession(null);
      if (!res.ok) return setSessionError(`the dashboard answered ${res.status}`);
      setSession(await res.json());
    } catch (e) {
      setSessionError(`the dashboard server cannot be reached (${e.message})`);
    }
  }, []);
  useEffect(() => void load(), [load]);
  const [kind, ns, name] = route.parts;
  let body;
  if (sessionError) body = html`<div class="problem" role="alert">${sessionError}</div>`;
  else if (session === undefined) body = html`<p class="muted">Loading…</p>`;
  else if (session === null) body = html`<${Login} onDone=${() => void load()} />`;
  else if (kind === 'rollout' && ns && name) body = html`<${RolloutPage} key=${`r/${ns}/${name}`} ns=${ns} name=${name} session=${session} />`;
  else if (kind === 'app' && ns && name) body = html`<${AppPage} key=${`a/${ns}/${name}`} ns=${ns} name=${name} session=${session} />`;
  else body = html`<${Overview} query=${route.query} session=${session} />`;
  return html`<header class="top"><a class="brand" href="#/">Sluice</a><nav aria-label="Main"><a href="#/">Overview</a></nav><${ThemeToggle} /></header><main>${body}</main>`;
}

render(html`<${App} />`, document.getElementById('app'));
