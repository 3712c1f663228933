// Switchyard dashboard: vanilla JS, no build step. The token comes once in the URL fragment
// (#token=…, never sent to the server), is kept in sessionStorage and sent as a Bearer header.
import { $, el } from './dom.js';
import { renderFlow } from './flow.js';
import { renderTopology } from './topology.js';

const PAGE = 25;
const REFRESH_MS = 5000;
const state = { offset: 0, filter: {}, total: 0, current: null, shown: '' };

const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) {
  sessionStorage.setItem('switchyard-token', fromHash);
  history.replaceState(null, '', location.pathname);
}

function token() {
  return sessionStorage.getItem('switchyard-token');
}

function status(text) {
  $('#status').textContent = text;
}

async function api(path, init = {}) {
  const response = await fetch(`/api${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  const body = await response.json();
  if (response.status === 401) {
    sessionStorage.removeItem('switchyard-token');
    showLogin();
  }
  if (!response.ok) throw new Error(`${body.error?.code ?? response.status}: ${body.error?.message ?? ''}`);
  return body;
}

function query(extra = {}) {
  const params = new URLSearchParams({ ...state.filter, ...extra });
  for (const [key, value] of [...params]) if (value === '') params.delete(key);
  return params.toString();
}

function fillSelect(select, counts) {
  const chosen = select.value;
  const keys = new Set([...Object.keys(counts), ...(chosen ? [chosen] : [])]);
  select.replaceChildren(el('option', { value: '' }, 'all'));
  for (const key of [...keys].sort()) {
    const option = el('option', { value: key }, `${key} (${counts[key] ?? 0})`);
    if (key === chosen) option.selected = true;
    select.append(option);
  }
}

async function loadDeadLetters() {
  const page = await api(`/dead-letters?${query({ offset: String(state.offset), limit: String(PAGE) })}`);
  // Re-render only when something changed, so a refresh keeps focus and what the user points at.
  const signature = JSON.stringify(page);
  if (signature === state.shown) return;
  state.shown = signature;
  state.total = page.total;
  $('#total').textContent = `(${page.total})`;
  const form = $('#filters');
  if (!state.filter.service) fillSelect(form.elements.service, page.counts.service);
  if (!state.filter.code) fillSelect(form.elements.code, page.counts.code);
  $('#counts').textContent = Object.entries(page.counts.code)
    .map(([code, n]) => `${code}: ${n}`)
    .join(' · ');
  const rows = page.items.map((record) => {
    const open = el('button', { type: 'button', 'data-id': record.id }, 'Details');
    open.addEventListener('click', () => openDetail(record.id));
    return el(
      'tr',
      { 'data-id': record.id },
      el('td', {}, new Date(record.deadLetteredAt).toLocaleString()),
      el('td', {}, record.service),
      el('td', {}, record.messageName),
      el('td', {}, record.handler ?? '—'),
      el('td', {}, el('code', {}, record.reason.code)),
      el('td', {}, record.reason.message),
      el('td', {}, String(record.attempts)),
      el('td', {}, open),
    );
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '8' }, 'No dead letters match.')));
  $('#dl-table tbody').replaceChildren(...rows);
  const last = Math.min(state.offset + PAGE, page.total);
  $('#page-info').textContent = page.total === 0 ? '' : `${state.offset + 1}–${last} of ${page.total}`;
  $('#prev').disabled = state.offset === 0;
  $('#next').disabled = last >= page.total;
}

function fields(list, entries) {
  list.replaceChildren(...entries.flatMap(([key, value]) => [el('dt', {}, key), el('dd', {}, value)]));
}

async function openDetail(id) {
  const record = await api(`/dead-letters/${encodeURIComponent(id)}`);
  state.current = record;
  fields($('#detail-fields'), [
    ['ID', record.id],
    ['Service', record.service],
    ['Type', record.messageName],
    ['Handler', record.handler ?? '—'],
    ['Channel', record.channel],
    ['Message id', record.messageId],
    ['Attempts', String(record.attempts)],
    ['First failure', new Date(record.firstAttemptAt).toLocaleString()],
    ['Last failure', new Date(record.deadLetteredAt).toLocaleString()],
  ]);
  $('#detail-error').textContent = `${record.reason.code}: ${record.reason.message}`;
  $('#detail-stack').textContent = record.reason.stack ?? '(no stack)';
  fields($('#detail-headers'), Object.entries(record.message.headers));
  let payload = record.message.body ?? `(binary, base64) ${record.message.bodyBase64}`;
  try {
    payload = JSON.stringify(JSON.parse(payload), null, 2);
  } catch {}
  $('#detail-payload').textContent = payload;
  $('#detail').showModal();
  $('#detail-close').focus();
}

async function act(work, done) {
  try {
    status(done(await work()));
  } catch (error) {
    status(`Failed: ${error.message}`);
  }
  await refresh();
}

$('#detail-replay').addEventListener('click', () => {
  const record = state.current;
  if (!record || !confirm(`Replay 1 dead letter (${record.messageName} ${record.id}) to ${record.service}?`)) return;
  $('#detail').close();
  void act(
    () => api(`/dead-letters/${encodeURIComponent(record.id)}/replay`, { method: 'POST' }),
    () => `Replayed ${record.id}`,
  );
});

$('#detail-delete').addEventListener('click', () => {
  const record = state.current;
  if (!record || !confirm(`Delete 1 dead letter (${record.messageName} ${record.id}) for good?`)) return;
  $('#detail').close();
  void act(
    () => api(`/dead-letters/${encodeURIComponent(record.id)}`, { method: 'DELETE' }),
    () => `Deleted ${record.id}`,
  );
});

$('#detail-close').addEventListener('click', () => $('#detail').close());

$('#replay-filtered').addEventListener('click', async () => {
  const page = await api(`/dead-letters?${query({ limit: '1' })}`);
  if (page.total === 0) return status('No dead letters match: nothing to replay');
  if (!confirm(`Replay ${page.total} dead letter${page.total === 1 ? '' : 's'} matching the filters?`)) return;
  const filter = Object.fromEntries(Object.entries(state.filter).filter(([, v]) => v !== ''));
  void act(
    () => api('/dead-letters/replay', { method: 'POST', body: JSON.stringify({ filter }) }),
    (result) => `Replayed ${result.count} dead letter${result.count === 1 ? '' : 's'}`,
  );
});

$('#filters').addEventListener('submit', (event) => {
  event.preventDefault();
  state.filter = Object.fromEntries(new FormData(event.target));
  state.offset = 0;
  void refresh();
});

$('#prev').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - PAGE);
  void refresh();
});
$('#next').addEventListener('click', () => {
  state.offset += PAGE;
  void refresh();
});

async function loadTopology() {
  const [view, channels, page] = await Promise.all([api('/topology'), api('/channels'), api('/dead-letters?limit=1')]);
  renderTopology($('#topo-graph'), view, channels, page.counts.service);
}

async function loadFlow() {
  renderFlow($('#flow-charts'), await api(`/flow?minutes=${$('#flow-minutes').value}`));
}

const VIEWS = ['dead-letters', 'topology', 'flow'];
function show(view) {
  for (const name of VIEWS) {
    $(`#${name}`).hidden = name !== view;
    $(`#tab-${name}`).setAttribute('aria-pressed', String(name === view));
  }
  void refresh();
}
for (const name of VIEWS) $(`#tab-${name}`).addEventListener('click', () => show(name));
$('#flow-minutes').addEventListener('change', () => void refresh());

async function refresh() {
  if (!token()) return;
  try {
    if (!$('#topology').hidden) await loadTopology();
    else if (!$('#flow').hidden) await loadFlow();
    else await loadDeadLetters();
    document.body.dataset.loaded = String(Date.now());
  } catch (error) {
    status(`Failed: ${error.message}`);
  }
}

function showLogin() {
  $('#login').hidden = false;
  $('#token-input').focus();
}

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('switchyard-token', $('#token-input').value);
  $('#login').hidden = true;
  void refresh();
});

if (token()) void refresh();
else showLogin();
setInterval(() => {
  if (!$('#detail').open) void refresh();
}, REFRESH_MS);
