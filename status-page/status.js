// The status page: reads the pipes' HTTP API (docs/api.md) from the origin that served it (the
// local API, or `pipes ui` forwarding to a deployed one) every 2 s and draws what it reads. Text
// from the API is always set as text, never as HTML.

const POLL_MS = 2_000;
/** The pipe's recorded CDC history changes about once a minute: it is read again this often. */
const HISTORY_POLL_MS = 15_000;
/** The charts show this much of the past. */
const CHART_WINDOW_MS = 60 * 60_000;
const HISTORY_SHOWN = 8;
const SVG_NS = 'http://www.w3.org/2000/svg';

// ---- elements ---------------------------------------------------------------------------------

function put(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'onclick') el.addEventListener('click', value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : String(child));
  }
  return el;
}

/** An HTML element: attributes, then children (elements or text). */
const h = (tag, attrs, ...children) => put(document.createElement(tag), attrs, children);
/** An SVG element, the same way. */
const s = (tag, attrs, ...children) => put(document.createElementNS(SVG_NS, tag), attrs, children);

// ---- numbers and times ------------------------------------------------------------------------

const count = (n) => Number(n).toLocaleString('en-US');

function duration(ms) {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

function ago(iso) {
  if (!iso) return 'never';
  const ms = Math.max(0, Date.now() - Date.parse(iso));
  return ms < 1_000 ? 'just now' : `${duration(ms)} ago`;
}

const clockTime = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });

/** 1, 2 or 5 times a power of ten, at least `value` and `least`: the top of a chart's scale. */
function niceCeiling(value, least) {
  if (value <= least) return least;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * power).find((top) => top >= value);
}

// ---- the API ----------------------------------------------------------------------------------

async function read(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (response.ok) return body;
  const error = body?.error;
  const what = error ? `${error.name}: ${error.message}` : `HTTP ${response.status}`;
  throw new Error(`GET ${path} answered ${response.status} (${what})`);
}

// ---- samples kept while the page is open ------------------------------------------------------

/**
 * What this page saw between the pipe's recorded samples (recordedPoints below): one lag point
 * per commit it read, one events/s step per run record it read (a run's events/s is its average
 * since it started, so the step reaches back to the run's start or to the run's previous record).
 * They are kept for the browser tab (sessionStorage), so a reload does not lose them.
 */
class Samples {
  constructor(pipeId) {
    this.key = `pipes-status:${pipeId}`;
    const stored = JSON.parse(sessionStorage.getItem(this.key) ?? 'null');
    // What an earlier visit in this tab saw, as far as the charts still reach back.
    const recent = (points) => (points ?? []).filter((p) => p.t >= Date.now() - CHART_WINDOW_MS);
    this.lag = recent(stored?.lag);
    this.rate = recent(stored?.rate);
  }

  add(cdc, now) {
    if (cdc.lagMs !== null && cdc.lagMeasuredAt) {
      keep(this.lag, { t: Date.parse(cdc.lagMeasuredAt), v: cdc.lagMs }, now);
    }
    const run = cdc.lastRun;
    if (run) {
      const seen = `${run.startedAt}/${run.endedAt}/${run.events}`;
      const previous = this.rate.at(-1);
      if (previous?.run !== seen) {
        const from = previous?.startedAt === run.startedAt ? previous.t : Date.parse(run.startedAt);
        const t = run.endedAt ? Date.parse(run.endedAt) : now;
        keep(this.rate, { t, v: run.eventsPerSecond, run: seen, startedAt: run.startedAt, from }, now);
      }
    }
    sessionStorage.setItem(this.key, JSON.stringify({ lag: this.lag, rate: this.rate }));
  }
}

function keep(points, point, now) {
  if (points.at(-1)?.t === point.t) return;
  points.push(point);
  while (points.length > 0 && points[0].t < now - CHART_WINDOW_MS) points.shift();
}

// ---- the pipe's recorded CDC history ----------------------------------------------------------

/**
 * The chart points of `GET /pipes/{id}/cdc-history` (a sample about every minute a run goes on,
 * and one at its end). Between two samples of one run, events/s is the events of that interval
 * over its length; a run's first sample holds its average since the run started.
 */
function recordedPoints(samples, now) {
  const windowStart = now - CHART_WINDOW_MS;
  const rate = samples.map((sample, i) => {
    const t = Date.parse(sample.at);
    const previous = samples[i - 1];
    const sameRun = previous?.runStartedAt === sample.runStartedAt;
    const from = sameRun ? Date.parse(previous.at) : Date.parse(sample.runStartedAt);
    const v = sameRun
      ? Math.max(0, sample.events - previous.events) / Math.max((t - from) / 1000, 0.001)
      : sample.eventsPerSecond;
    return { t, v, from: Math.max(from, windowStart), recorded: true };
  });
  const lag = samples
    .filter((sample) => sample.lagMs !== null)
    .map((sample) => ({ t: Date.parse(sample.at), v: sample.lagMs, recorded: true }));
  const shown = (points) => points.filter((p) => p.t >= windowStart);
  return { lag: shown(lag), rate: shown(rate) };
}

/** The recorded points, then what this tab saw after the last of them (a step from there at most). */
function chartPoints(recorded, seen) {
  const after = (points, kept) => {
    const last = kept.at(-1)?.t ?? Number.NEGATIVE_INFINITY;
    const later = points
      .filter((p) => p.t > last)
      .map((p) => (p.from === undefined ? p : { ...p, from: Math.max(p.from, last) }));
    return [...kept, ...later];
  };
  return { lag: after(seen.lag, recorded.lag), rate: after(seen.rate, recorded.rate) };
}

// ---- the lifecycle diagram --------------------------------------------------------------------

const NODE = { w: 106, h: 34 };
const ROW = [34, 124];
const STATE_AT = {
  Provisioning: [8, ROW[0]],
  Setup: [138, ROW[0]],
  Snapshot: [268, ROW[0]],
  Running: [398, ROW[0]],
  Pausing: [528, ROW[0]],
  Paused: [658, ROW[0]],
  Failed: [8, ROW[1]],
  Completed: [138, ROW[1]],
  Resync: [333, ROW[1]],
  Modifying: [528, ROW[1]],
};
const TRANSITIONAL = ['Provisioning', 'Setup', 'Snapshot', 'Pausing', 'Modifying', 'Resync'];

/** [x1, y1, x2, y2, both ways?] in the diagram's coordinates (docs/lifecycle.md's table). */
const EDGES = [
  [114, 51, 136, 51],
  [244, 51, 266, 51],
  [374, 51, 396, 51],
  [504, 51, 526, 51],
  [634, 51, 656, 51],
  [290, 68, 222, 122],
  [340, 68, 372, 122],
  [412, 124, 440, 70],
  [484, 68, 560, 124, true],
  [612, 124, 690, 68, true],
];

function arc(fromX, toX, label) {
  const top = ROW[0] - 26;
  return [
    s('path', {
      d: `M ${fromX} ${ROW[0]} C ${fromX} ${top}, ${toX} ${top}, ${toX} ${ROW[0] - 2}`,
      class: 'edge',
      'marker-end': 'url(#arrow)',
    }),
    s('text', { x: (fromX + toX) / 2, y: top + 4, class: 'edge-label' }, label),
  ];
}

function lifecycleDiagram(current) {
  const marker = s(
    'marker',
    {
      id: 'arrow',
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    },
    s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }),
  );
  const edges = EDGES.map(([x1, y1, x2, y2, both]) =>
    s('line', {
      x1,
      y1,
      x2,
      y2,
      class: 'edge',
      'marker-end': 'url(#arrow)',
      'marker-start': both ? 'url(#arrow)' : null,
    }),
  );
  const nodes = Object.entries(STATE_AT).map(([state, [x, y]]) => {
    const lit = state === current;
    const classes = [
      'state',
      lit && 'lit',
      lit && TRANSITIONAL.includes(state) && 'moving',
      state === 'Failed' && 'failed',
    ];
    return s(
      'g',
      { class: classes.filter(Boolean).join(' '), 'data-state': state, 'aria-current': lit ? 'step' : null },
      s('rect', { x, y, width: NODE.w, height: NODE.h, rx: 9 }),
      s('text', { x: x + NODE.w / 2, y: y + NODE.h / 2 + 4.5 }, state),
    );
  });
  return s(
    'svg',
    { class: 'lifecycle', viewBox: '0 0 772 176', role: 'img', 'aria-label': `Lifecycle, now ${current}` },
    s('defs', {}, marker),
    edges,
    arc(720, 484, 'resume'),
    arc(420, 300, 'resync · add tables'),
    s('text', { x: 61, y: 172, class: 'edge-label' }, 'from any state'),
    nodes,
  );
}

// ---- charts -----------------------------------------------------------------------------------

const CHART = { w: 560, h: 170, left: 56, right: 14, top: 14, bottom: 26 };
/** The shortest time a chart spans, so a few first points do not stretch across it. */
const CHART_MIN_SPAN_MS = 20_000;

/**
 * The line and the area under it: point to point, or for points that hold since `from` (a run's
 * average), a level step from `from` to the point.
 */
function linePaths(points, x, y) {
  const at = (t, v) => `${x(t).toFixed(1)} ${y(v).toFixed(1)}`;
  if (points.some((p) => p.from !== undefined)) {
    const steps = points.map((p) => ({
      a: at(p.from, p.v),
      b: at(p.t, p.v),
      a0: at(p.from, 0),
      b0: at(p.t, 0),
    }));
    return {
      line: steps.map((step) => `M ${step.a} L ${step.b}`).join(' '),
      area: steps.map((step) => `M ${step.a} L ${step.b} L ${step.b0} L ${step.a0} Z`).join(' '),
    };
  }
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${at(p.t, p.v)}`).join(' ');
  const area = points.length > 1 ? `${line} L ${at(points.at(-1).t, 0)} L ${at(points[0].t, 0)} Z` : '';
  return { line: points.length > 1 ? line : '', area };
}

/** A line over time with its points, a 0–top scale and the times of its ends. */
function lineChart(points, { name, format, least, now }) {
  const plotW = CHART.w - CHART.left - CHART.right;
  const plotH = CHART.h - CHART.top - CHART.bottom;
  const end = Math.max(now, points.at(-1)?.t ?? now);
  const start = Math.min(end - CHART_MIN_SPAN_MS, ...points.map((p) => p.from ?? p.t));
  const top = niceCeiling(Math.max(0, ...points.map((p) => p.v)), least);
  const x = (t) => CHART.left + ((t - start) / Math.max(end - start, 1)) * plotW;
  const y = (v) => CHART.top + plotH - (v / top) * plotH;
  const grid = [0, top / 2, top].map((v) => [
    s('line', { x1: CHART.left, x2: CHART.w - CHART.right, y1: y(v), y2: y(v), class: 'grid' }),
    s('text', { x: CHART.left - 8, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, format(v)),
  ]);
  const { line, area } = linePaths(points, x, y);
  return s(
    'svg',
    {
      class: `chart ${name}-chart`,
      viewBox: `0 0 ${CHART.w} ${CHART.h}`,
      role: 'img',
      'aria-label': `${name} over time, ${points.length} points`,
    },
    grid,
    s('text', { x: CHART.left, y: CHART.h - 6, class: 'axis' }, clockTime(start)),
    s(
      'text',
      { x: CHART.w - CHART.right, y: CHART.h - 6, class: 'axis', 'text-anchor': 'end' },
      clockTime(end),
    ),
    area && s('path', { d: area, class: 'area' }),
    line && s('path', { d: line, class: 'line' }),
    points.map((p) =>
      s(
        'circle',
        { cx: x(p.t), cy: y(p.v), r: p.recorded ? 3.4 : 2.6, class: p.recorded ? 'point recorded' : 'point' },
        s('title', {}, `${clockTime(p.t)}: ${format(p.v)}`),
      ),
    ),
    points.length === 0 &&
      s(
        'text',
        { x: CHART.left + plotW / 2, y: CHART.top + plotH / 2, class: 'axis', 'text-anchor': 'middle' },
        'no figures yet',
      ),
  );
}

// ---- the sections of a pipe -------------------------------------------------------------------

const card = (title, ...body) => h('section', { class: 'card' }, h('h3', {}, title), body);
const badge = (state) => h('span', { class: `badge state-${state}` }, state);

function pipeHeader(pipe) {
  const mode = pipe.cdc ? `${pipe.cdc.mode} CDC` : '';
  return h(
    'header',
    { class: 'pipe-header' },
    h('div', {}, h('h2', { id: 'pipe-name' }, pipe.name), h('div', { class: 'muted mono' }, pipe.id)),
    h(
      'div',
      { class: 'pipe-facts' },
      badge(pipe.state),
      h('span', { class: 'muted' }, `version ${pipe.version} · ${mode} · updated ${ago(pipe.updatedAt)}`),
      h('span', { class: 'muted' }, `accepts: ${pipe.allowedCommands.join(', ')}`),
    ),
  );
}

function progressRow(table) {
  const { documentsCopied, documentsEstimated, partitionsDone, partitionsTotal } = table.progress;
  const share =
    documentsEstimated > 0
      ? Math.min(1, documentsCopied / documentsEstimated)
      : table.state === 'Replicating'
        ? 1
        : 0;
  const fill = h('div', { class: 'fill' });
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  return h(
    'li',
    { class: 'table-row' },
    h(
      'div',
      { class: 'table-name' },
      h('span', { class: 'mono' }, `${table.tableKey} → ${table.targetTable}`),
      badge(table.state),
    ),
    h(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-valuemin': 0,
        'aria-valuemax': 100,
        'aria-valuenow': Math.round(share * 100),
      },
      fill,
    ),
    h(
      'div',
      { class: 'muted' },
      `${Math.round(share * 100)}% · ${count(documentsCopied)} of ${count(documentsEstimated)} documents · ${partitionsDone}/${partitionsTotal} partitions`,
    ),
    table.stopReason && h('div', { class: 'error-text' }, `${table.stopReason}: ${table.stopMessage ?? ''}`),
  );
}

function figure(label, value, note) {
  return h(
    'div',
    { class: 'figure' },
    h('div', { class: 'figure-label' }, label),
    h('div', { class: 'figure-value' }, value),
    h('div', { class: 'muted' }, note),
  );
}

function cdcSection(cdc, samples, now) {
  const run = cdc.lastRun;
  const lag = cdc.lagMs === null ? 'not measured' : duration(cdc.lagMs);
  const rate = run ? `${run.eventsPerSecond.toFixed(1)}` : '—';
  const runNote = run
    ? `${count(run.events)} events in ${count(run.batches)} batches, ${run.endedBecause ?? 'going on'}`
    : 'no run recorded yet';
  return card(
    'Change data capture',
    h(
      'div',
      { class: 'figures' },
      figure('lag', lag, `measured ${ago(cdc.lagMeasuredAt)}`),
      figure('events / s', rate, runNote),
      figure('CDC', cdc.running ? 'running' : 'idle', `last commit ${ago(cdc.lastCommittedAt)}`),
    ),
    h(
      'div',
      { class: 'charts' },
      h(
        'figure',
        {},
        h('figcaption', {}, 'Lag, recorded each minute of a run (larger points), then at each commit read'),
        lineChart(samples.lag, { name: 'lag', format: (v) => duration(v), least: 1_000, now }),
      ),
      h(
        'figure',
        {},
        h('figcaption', {}, 'Events per second, each minute of a run, then each run record read'),
        lineChart(samples.rate, {
          name: 'rate',
          format: (v) => (v >= 100 ? count(Math.round(v)) : v.toFixed(1)),
          least: 1,
          now,
        }),
      ),
    ),
    h(
      'p',
      { class: 'muted small' },
      "Charts show the pipe's recorded CDC history (one sample a minute of a run, the last 120), then what this page read since.",
    ),
  );
}

function memberClass(state) {
  if (state === 'PRIMARY') return 'good';
  if (state === 'SECONDARY' || state === 'ARBITER') return 'fine';
  if (['STARTUP', 'STARTUP2', 'RECOVERING', 'UNKNOWN', 'OTHER', 'MONGOS'].includes(state)) return 'warn';
  // NOT_OK (a shard member the mongos cannot use) and DOWN, ROLLBACK, REMOVED… are bad.
  return 'bad';
}

function memberList(members) {
  return h(
    'ul',
    { class: 'members' },
    members.map((m) =>
      h(
        'li',
        { class: `member ${memberClass(m.state)}` },
        h('span', { class: 'dot' }),
        h('span', { class: 'mono' }, m.name),
        h('span', { class: 'member-state' }, m.state),
      ),
    ),
  );
}

/** Through a mongos: each shard's members as the mongos sees them, a shard without a primary flagged. */
function shardList(shards) {
  if (!shards?.length) return null;
  return h(
    'div',
    { class: 'shards' },
    shards.map((shard) => {
      const primary = shard.members.some((m) => m.state === 'PRIMARY');
      return h(
        'div',
        { class: 'shard' },
        h(
          'p',
          { class: 'shard-name' },
          h('span', { class: 'mono' }, shard.shard),
          shard.setName !== shard.shard && h('span', { class: 'muted' }, ` (${shard.setName})`),
          !primary && h('span', { class: 'shard-warning' }, ' · no primary'),
        ),
        memberList(shard.members),
      );
    }),
  );
}

function sourceSection(pipe) {
  const health = pipe.source?.health;
  if (!health)
    return card('Source', h('p', { class: 'muted' }, 'Not read yet: the first CDC run reads the members.'));
  return card(
    'Source',
    h(
      'p',
      { class: 'muted' },
      `${health.kind}${health.setName ? ` ${health.setName}` : ''} · members from ${health.membersFrom} · read ${ago(health.checkedAt)}`,
    ),
    memberList(health.members),
    shardList(health.shards),
    health.note && h('p', { class: 'muted small' }, health.note),
  );
}

function errorSection(pipe) {
  const error = pipe.lastError;
  if (!error) return card('Last error', h('p', { class: 'muted' }, 'None.'));
  return card(
    'Last error',
    h('p', { class: 'error-text' }, h('strong', {}, error.name), `: ${error.message}`),
    h('p', { class: 'muted' }, ago(error.at)),
  );
}

function historySection(entries) {
  const rows = entries.map((e) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, clockTime(Date.parse(e.at))),
      h('td', {}, e.from ? `${e.from} → ${e.to}` : `→ ${e.to}`),
      h('td', { class: 'mono' }, e.event),
      h('td', {}, e.reason ?? ''),
      h('td', { class: 'muted' }, e.actor),
    ),
  );
  return card(
    'Recent history',
    h(
      'table',
      { class: 'history' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['at', 'state', 'event', 'reason', 'by'].map((c) => h('th', {}, c)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

// ---- the page ---------------------------------------------------------------------------------

function pipeList(pipes, selectedId) {
  return pipes.map((p) =>
    h(
      'li',
      {},
      h(
        'a',
        {
          href: `#${encodeURIComponent(p.id)}`,
          class: p.id === selectedId ? 'selected' : null,
          'aria-current': p.id === selectedId ? 'page' : null,
        },
        h('span', { class: `dot state-${p.state}` }),
        h('span', { class: 'pipe-list-name' }, p.name),
        h('span', { class: 'muted small' }, p.state),
      ),
    ),
  );
}

/** The pipe the address names (`#<id>` or `#<name>`), else the first. */
function selected(pipes) {
  const wanted = decodeURIComponent(location.hash.slice(1));
  return pipes.find((p) => p.id === wanted) ?? pipes.find((p) => p.name === wanted) ?? pipes[0] ?? null;
}

const samplesByPipe = new Map();
/** The last read of each pipe's recorded history: { at, samples }. */
const recordedByPipe = new Map();

async function recordedHistory(pipeId, now) {
  const known = recordedByPipe.get(pipeId);
  if (known && now - known.at < HISTORY_POLL_MS) return known.samples;
  const { samples } = await read(`/pipes/${encodeURIComponent(pipeId)}/cdc-history`);
  recordedByPipe.set(pipeId, { at: now, samples });
  return samples;
}

async function refresh() {
  const { pipes } = await read('/pipes?limit=100');
  const chosen = selected(pipes);
  document.getElementById('pipe-list').replaceChildren(...pipeList(pipes, chosen?.id));
  const main = document.getElementById('pipe');
  if (!chosen) {
    main.replaceChildren(
      h(
        'p',
        { class: 'muted' },
        'No pipes yet. Create one with `npx pipes create -f pipe.json` (docs/cli.md).',
      ),
    );
    return;
  }
  const id = encodeURIComponent(chosen.id);
  const [pipe, { history }] = await Promise.all([
    read(`/pipes/${id}`),
    read(`/pipes/${id}/history?limit=${HISTORY_SHOWN}`),
  ]);
  const now = Date.now();
  if (!samplesByPipe.has(pipe.id)) samplesByPipe.set(pipe.id, new Samples(pipe.id));
  const samples = samplesByPipe.get(pipe.id);
  samples.add(pipe.cdc, now);
  const points = chartPoints(recordedPoints(await recordedHistory(pipe.id, now), now), samples);
  main.replaceChildren(
    pipeHeader(pipe),
    card('Lifecycle', lifecycleDiagram(pipe.state)),
    card(
      'Tables',
      h(
        'ul',
        { class: 'tables' },
        pipe.tables.length ? pipe.tables.map(progressRow) : h('li', { class: 'muted' }, 'No tables.'),
      ),
    ),
    cdcSection(pipe.cdc, points, now),
    h('div', { class: 'pair' }, sourceSection(pipe), errorSection(pipe)),
    historySection(history),
  );
}

let timer = null;

async function tick() {
  clearTimeout(timer);
  const problem = document.getElementById('problem');
  try {
    await refresh();
    problem.hidden = true;
    document.getElementById('refreshed').textContent =
      `read ${clockTime(Date.now())} · every ${POLL_MS / 1000} s`;
  } catch (error) {
    problem.textContent = `Cannot read the API: ${error.message}`;
    problem.hidden = false;
  }
  timer = setTimeout(tick, POLL_MS);
}

window.addEventListener('hashchange', tick);
tick();
