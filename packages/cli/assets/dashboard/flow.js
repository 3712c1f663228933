// The flow view: per service, over the same minutes, messages handled and delayed retries per minute
// (lines, from the counters the services export here over OTLP), dead letters per minute (bars, from
// the dead-letter stores) on the left scale, and the depth of its channel as sampled by the dashboard
// (line, right scale). Inline SVG.
import { el, plural, svg } from './dom.js';

const W = 420;
const H = 110;
const PAD = { left: 34, right: 40, top: 10, bottom: 22 };
const sum = (list) => list.reduce((a, b) => a + b, 0);

/** Messages per second, to two digits below 1. */
const perSecond = (perMinute) => (perMinute / 60).toFixed(perMinute < 60 ? 2 : 1);

/** The text of one service's chart (its caption, and its aria-label after the service's name). */
function summary(flow, service, known, depths) {
  const parts = [];
  if (service.metrics !== undefined) {
    const handled = known(service.metrics.handled);
    parts.push(
      `${sum(handled)} handled (peak ${perSecond(Math.max(0, ...handled))}/s)`,
      `${sum(known(service.metrics.retried))} retried`,
    );
  } else parts.push('no metrics received');
  parts.push(`${plural(sum(service.deadLettered), 'dead letter')} stored`);
  const last = depths.at(-1);
  const depth =
    last !== undefined
      ? `channel depth now ${last.depth}, at most ${Math.max(...depths.map((s) => s.depth))}`
      : 'no depth samples';
  return `last ${flow.minutes} minutes: ${parts.join(', ')}; ${depth}`;
}

function chart(flow, service, from, to) {
  const span = to - from;
  const x = (t) => PAD.left + ((t - from) / span) * (W - PAD.left - PAD.right);
  const plotH = H - PAD.top - PAD.bottom;
  // Minutes that ended before the counts began are unknown, not zero: the lines leave them out.
  const since = flow.metricsSince === undefined ? to : Date.parse(flow.metricsSince);
  const first = Math.max(0, Math.floor((since - from) / 60_000));
  const known = (list) => list.slice(first);
  const lines = service.metrics === undefined ? [] : [service.metrics.handled, service.metrics.retried];
  const maxCount = Math.max(1, ...service.deadLettered, ...lines.flatMap(known));
  const depths = service.samples.filter((s) => s.depth !== undefined);
  const maxDepth = Math.max(1, ...depths.map((s) => s.depth));
  const yCount = (n) => PAD.top + plotH - (n / maxCount) * plotH;
  const yDepth = (n) => PAD.top + plotH - (n / maxDepth) * plotH;
  const barW = (W - PAD.left - PAD.right) / flow.minutes;
  const text = summary(flow, service, known, depths);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: 'img',
    'aria-label': `${service.service}, ${text}`,
    class: 'flow-chart',
    'data-flow': service.service,
  });
  root.append(
    svg('line', { x1: PAD.left, y1: PAD.top + plotH, x2: W - PAD.right, y2: PAD.top + plotH, class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: PAD.top + 8, 'text-anchor': 'end', class: 'count-scale' }, String(maxCount)),
    svg('text', { x: W - PAD.right + 4, y: PAD.top + 8, class: 'depth-scale' }, String(maxDepth)),
    svg('text', { x: PAD.left, y: H - 6, class: 'time' }, `−${flow.minutes} min`),
    svg('text', { x: W - PAD.right, y: H - 6, 'text-anchor': 'end', class: 'time' }, 'now'),
  );
  service.deadLettered.forEach((n, i) => {
    if (n === 0) return;
    root.append(
      svg(
        'rect',
        {
          x: PAD.left + i * barW + 1,
          y: yCount(n),
          width: Math.max(1, barW - 2),
          height: PAD.top + plotH - yCount(n),
          class: 'dead-bar',
        },
        svg('title', {}, `${n} dead-lettered in minute ${i + 1 - flow.minutes}`),
      ),
    );
  });
  if (service.metrics !== undefined) {
    for (const kind of ['handled', 'retried']) {
      const points = service.metrics[kind].map((n, i) => ({ n, i, px: PAD.left + (i + 0.5) * barW, py: yCount(n) }));
      const shown = points.slice(first);
      const line = shown.map(({ px, py }) => `${px.toFixed(1)},${py.toFixed(1)}`);
      root.append(svg('polyline', { points: line.join(' '), class: `${kind}-line` }));
      // A marker on every minute with counts, so that a single minute shows too, with its number.
      for (const { n, i, px, py } of shown) {
        if (n === 0) continue;
        root.append(
          svg(
            'circle',
            { cx: px.toFixed(1), cy: py.toFixed(1), r: kind === 'handled' ? 3 : 5, class: `${kind}-dot` },
            svg('title', {}, `${n} ${kind} in minute ${i + 1 - flow.minutes}`),
          ),
        );
      }
    }
  }
  if (depths.length > 0) {
    const points = depths.map((s) => `${x(Date.parse(s.at)).toFixed(1)},${yDepth(s.depth).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points, class: 'depth-line' }));
  }
  return el('figure', { class: 'flow' }, el('figcaption', {}, el('strong', {}, service.service), ` — ${text}`), root);
}

/** Render the flow view into `container`. */
export function renderFlow(container, flow) {
  const from = Date.parse(flow.from);
  const to = Date.parse(flow.to);
  container.replaceChildren(
    el(
      'p',
      { class: 'legend' },
      el('span', { class: 'key handled-key' }, '━'),
      ' handled and ',
      el('span', { class: 'key retried-key' }, '━'),
      ' retried per minute (left scale; the services’ own counters, exported here over OTLP',
      flow.metricsSince !== undefined
        ? `, since ${new Date(flow.metricsSince).toLocaleTimeString()})   `
        : ': none received yet, see docs/dashboard.md)   ',
      el('span', { class: 'key dead-key' }, '■'),
      ' dead-lettered per minute (left scale; the records the stores still keep: replayed or deleted ones no longer count)   ',
      el('span', { class: 'key depth-key' }, '━'),
      ' channel depth (right scale; sampled every 5 s while this dashboard runs)',
    ),
    ...flow.services.map((service) => chart(flow, service, from, to)),
  );
}
