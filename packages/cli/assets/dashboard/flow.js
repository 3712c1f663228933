// The flow view: per service, dead letters per minute (bars, from the dead-letter stores) and the
// depth of its channel as sampled by the dashboard (line), over the same minutes. Inline SVG.
import { el, plural, svg } from './dom.js';

const W = 420;
const H = 110;
const PAD = { left: 34, right: 40, top: 10, bottom: 22 };

function chart(flow, service, from, to) {
  const span = to - from;
  const x = (t) => PAD.left + ((t - from) / span) * (W - PAD.left - PAD.right);
  const plotH = H - PAD.top - PAD.bottom;
  const maxDead = Math.max(1, ...service.deadLettered);
  const depths = service.samples.filter((s) => s.depth !== undefined);
  const maxDepth = Math.max(1, ...depths.map((s) => s.depth));
  const yDead = (n) => PAD.top + plotH - (n / maxDead) * plotH;
  const yDepth = (n) => PAD.top + plotH - (n / maxDepth) * plotH;
  const barW = (W - PAD.left - PAD.right) / flow.minutes;
  const totalDead = service.deadLettered.reduce((a, b) => a + b, 0);
  const last = depths.at(-1);
  const summary = `${service.service}: ${plural(totalDead, 'dead letter')} in the last ${flow.minutes} minutes${
    depths.length > 0
      ? `; channel depth now ${last.depth}, at most ${Math.max(...depths.map((s) => s.depth))}`
      : '; no depth samples'
  }`;
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: 'img',
    'aria-label': summary,
    class: 'flow-chart',
    'data-flow': service.service,
  });
  root.append(
    svg('line', { x1: PAD.left, y1: PAD.top + plotH, x2: W - PAD.right, y2: PAD.top + plotH, class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: PAD.top + 8, 'text-anchor': 'end', class: 'dead-scale' }, String(maxDead)),
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
          y: yDead(n),
          width: Math.max(1, barW - 2),
          height: PAD.top + plotH - yDead(n),
          class: 'dead-bar',
        },
        svg('title', {}, `${n} dead-lettered in minute ${i + 1 - flow.minutes}`),
      ),
    );
  });
  if (depths.length > 0) {
    const points = depths.map((s) => `${x(Date.parse(s.at)).toFixed(1)},${yDepth(s.depth).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points, class: 'depth-line' }));
  }
  return el(
    'figure',
    { class: 'flow' },
    el('figcaption', {}, el('strong', {}, service.service), ` — ${summary.slice(service.service.length + 2)}`),
    root,
  );
}

/** Render the flow view into `container`. */
export function renderFlow(container, flow) {
  const from = Date.parse(flow.from);
  const to = Date.parse(flow.to);
  container.replaceChildren(
    el(
      'p',
      { class: 'legend' },
      el('span', { class: 'key dead-key' }, '■'),
      ' dead-lettered per minute (left scale; the records the stores still keep: replayed or deleted ones no longer count)   ',
      el('span', { class: 'key depth-key' }, '━'),
      ' channel depth (right scale; sampled every 5 s while this dashboard runs)',
    ),
    ...flow.services.map((service) => chart(flow, service, from, to)),
  );
}
