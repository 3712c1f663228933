// The topology view: the service map as an SVG graph (services grouped by transport, arrows for the
// commands and events declared in the application's contracts), with each channel's live counts,
// and the same as a list for screen readers and copying.
import { el, plural, svg } from './dom.js';

const NODE_W = 250;
const NODE_H = 92;
const COL_W = 400;
const ROW_H = 128;
const TOP = 64;
/** Height of the lane above the nodes where arrows that skip a column run. */
const LANE_Y = 40;

/** AMQP-style pattern match: `*` one segment, `#` zero or more (as core's matcher). */
function matches(pattern, name) {
  const p = pattern.split('.');
  const n = name.split('.');
  const walk = (i, j) => {
    if (i === p.length) return j === n.length;
    if (p[i] === '#') return walk(i + 1, j) || (j < n.length && walk(i, j + 1));
    return j < n.length && (p[i] === '*' || p[i] === n[j]) && walk(i + 1, j + 1);
  };
  return walk(0, 0);
}

/** "depth 3 · in flight 1 · consumers 2", only what the transport reports. */
export function countsText(counts) {
  if (!counts) return 'counts unknown';
  const parts = [];
  if (counts.depth !== undefined) parts.push(`depth ${counts.depth}`);
  if (counts.inFlight !== undefined) parts.push(`in flight ${counts.inFlight}`);
  if (counts.consumers !== undefined) parts.push(`${plural(counts.consumers, 'consumer')}`);
  if (counts.lag !== undefined) parts.push(`lag ${counts.lag}`);
  return parts.length > 0 ? parts.join(' · ') : 'no counts from this broker';
}

/** The edges the contracts declare: commands to their target, events to every service subscribed to them. */
function edgesOf(view) {
  const subscriptions = new Map(view.services.map((s) => [s.name, s.subscribes]));
  for (const m of view.messages.services) {
    if (subscriptions.get(m.service) === undefined && m.handles.length > 0)
      subscriptions.set(
        m.service,
        m.handles.filter((h) => h.kind === 'event').map((h) => h.pattern),
      );
  }
  const edges = [];
  for (const m of view.messages.services) {
    for (const send of m.sends) {
      if (send.kind === 'event') {
        for (const [service, patterns] of subscriptions)
          if ((patterns ?? []).some((p) => matches(p, send.name)))
            edges.push({ from: m.service, to: service, label: send.name, kind: 'event' });
      } else if (send.to) edges.push({ from: m.service, to: send.to, label: send.name, kind: 'command' });
    }
  }
  // One arrow per pair of services, naming every type it carries (solid when any is a command).
  const merged = new Map();
  for (const edge of edges) {
    const key = `${edge.from}>${edge.to}`;
    const seen = merged.get(key);
    if (!seen) merged.set(key, { ...edge, labels: [edge.label] });
    else {
      seen.labels.push(edge.label);
      if (edge.kind === 'command') seen.kind = 'command';
    }
  }
  return [...merged.values()];
}

function layout(view) {
  const columns = [];
  const mapped = new Set(view.services.map((s) => s.name));
  const outside = view.messages.services.map((m) => m.service).filter((s) => !mapped.has(s));
  if (outside.length > 0) columns.push({ title: 'senders outside the service map', services: outside });
  for (const name of Object.keys(view.transports))
    columns.push({
      title: `transport ${name}`,
      services: view.services.filter((s) => s.transport === name).map((s) => s.name),
    });
  const at = new Map();
  for (const [c, column] of columns.entries())
    for (const [r, service] of column.services.entries()) at.set(service, { x: 20 + c * COL_W, y: TOP + r * ROW_H });
  const rows = Math.max(1, ...columns.map((c) => c.services.length));
  return { columns, at, width: 40 + columns.length * COL_W, height: TOP + rows * ROW_H + 20 };
}

function edgePath(a, b) {
  if (Math.abs(a.x - b.x) > COL_W) {
    // Skips a column: over the nodes, through the lane at the top.
    const x1 = a.x + NODE_W / 2;
    const x2 = b.x + NODE_W / 2;
    return { d: `M${x1},${a.y} C${x1},${LANE_Y} ${x2},${LANE_Y} ${x2},${b.y - 4}`, lx: (x1 + x2) / 2, ly: LANE_Y + 4 };
  }
  if (a.x === b.x) {
    // Same column: an arc out to the right.
    const x = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2 + 10;
    const y2 = b.y + NODE_H / 2 - 10;
    return { d: `M${x},${y1} C${x + 70},${y1} ${x + 70},${y2} ${x + 4},${y2}`, lx: x + 56, ly: (y1 + y2) / 2 };
  }
  const forward = a.x < b.x;
  const x1 = forward ? a.x + NODE_W : a.x;
  const x2 = forward ? b.x - 4 : b.x + NODE_W + 4;
  const y1 = a.y + NODE_H / 2;
  const y2 = b.y + NODE_H / 2;
  const mx = (x1 + x2) / 2;
  return { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, lx: mx, ly: (y1 + y2) / 2 - 6 };
}

/** The SVG graph. */
function graph(view, counts, dead) {
  const { columns, at, width, height } = layout(view);
  const edges = edgesOf(view);
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-labelledby': 'topo-svg-title',
    class: 'topology-graph',
  });
  root.append(
    svg(
      'title',
      { id: 'topo-svg-title' },
      `Service map: ${view.services.length} services, ${edges.length} message flows`,
    ),
    svg(
      'defs',
      {},
      svg(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
  );
  for (const [c, column] of columns.entries())
    root.append(svg('text', { x: 20 + c * COL_W, y: 22, class: 'column-title' }, column.title));
  for (const edge of edges) {
    const a = at.get(edge.from);
    const b = at.get(edge.to);
    if (!a || !b) continue;
    const { d, lx, ly } = edgePath(a, b);
    root.append(
      svg(
        'g',
        { class: `edge ${edge.kind}`, 'data-edge': `${edge.from}>${edge.to}:${edge.labels.join(',')}` },
        svg('path', { d, 'marker-end': 'url(#arrow)' }),
        svg(
          'text',
          { x: lx, y: ly - ((edge.labels.length - 1) * 13) / 2, 'text-anchor': 'middle' },
          ...edge.labels.map((label, i) => svg('tspan', { x: lx, dy: i === 0 ? 0 : 13 }, label)),
        ),
      ),
    );
  }
  for (const [service, { x, y }] of at) {
    const route = view.services.find((s) => s.name === service);
    const n = dead[service] ?? 0;
    root.append(
      svg(
        'g',
        { class: `node${route ? '' : ' outside'}`, 'data-node': service },
        svg('rect', { x, y, width: NODE_W, height: NODE_H, rx: 8 }),
        svg('text', { x: x + 12, y: y + 22, class: 'node-name' }, service),
        svg('text', { x: x + 12, y: y + 42, class: 'node-detail' }, route ? `channel ${route.channel}` : 'sends only'),
        svg(
          'text',
          { x: x + 12, y: y + 62, class: 'node-counts', 'data-counts': service },
          route ? countsText(counts.get(service)) : '',
        ),
        svg(
          'text',
          { x: x + 12, y: y + 82, class: n > 0 ? 'node-dead error' : 'node-dead' },
          route ? plural(n, 'dead letter') : '',
        ),
      ),
    );
  }
  return root;
}

/** Render the topology into `container`: the graph, the list per transport, the stores read. */
export function renderTopology(container, view, channels, dead) {
  const counts = new Map(channels.channels.map((c) => [c.service, c]));
  const problems = channels.transports.filter((t) => t.error);
  const messagesOf = (service) => view.messages.services.find((m) => m.service === service);
  const transports = Object.entries(view.transports);
  if (transports.length === 0) return container.replaceChildren(el('p', {}, 'No transports configured.'));
  container.replaceChildren(
    el('figure', { class: 'graph' }, graph(view, counts, dead)),
    el(
      'p',
      { class: 'legend' },
      `Arrows: commands (solid) and events only (dashed) that the application module declares${
        view.messages.error ? ` — ${view.messages.error}` : ''
      }. Counts refresh every 5 seconds; a count the broker cannot report is left out.`,
    ),
    ...problems.map((t) => el('p', { class: 'error' }, `No channel counts from transport ${t.transport}: ${t.error}`)),
    ...transports.map(([name, url]) => {
      const services = view.services.filter((s) => s.transport === name);
      return el(
        'article',
        { class: 'transport', 'aria-label': `transport ${name}` },
        el('h3', {}, `${name} `, el('small', {}, url)),
        el(
          'ul',
          {},
          ...services.map((s) => {
            const m = messagesOf(s.name);
            const n = dead[s.name] ?? 0;
            return el(
              'li',
              { class: 'service', 'data-service': s.name },
              el('strong', {}, s.name),
              ' ← channel ',
              el('code', {}, s.channel),
              el('span', { class: 'counts' }, ` (${countsText(counts.get(s.name))})`),
              s.subscribes === undefined
                ? ' (subscriptions not declared)'
                : s.subscribes.length === 0
                  ? ' (no event subscriptions)'
                  : el('span', {}, ' ← events ', ...s.subscribes.map((p) => el('code', { class: 'pattern' }, p))),
              el('span', { class: n > 0 ? 'dead error' : 'dead' }, ` · ${plural(n, 'dead letter')}`),
              ...(m && m.sends.length > 0
                ? [
                    el(
                      'div',
                      { class: 'sends' },
                      'sends ',
                      ...m.sends.map((send) =>
                        el(
                          'code',
                          { class: 'pattern' },
                          send.kind === 'event' ? `publishes ${send.name}` : `${send.name} → ${send.to ?? '?'}`,
                        ),
                      ),
                    ),
                  ]
                : []),
            );
          }),
        ),
      );
    }),
    el('h3', {}, 'Dead-letter stores read'),
    el(
      'ul',
      { class: 'stores' },
      ...view.stores.map((s) =>
        el(
          'li',
          { class: s.error ? 'error' : '' },
          `${s.service ?? 'all services'}: ${s.url}${s.error ? ` — cannot read: ${s.error}` : ''}`,
        ),
      ),
    ),
  );
}
