/** The details pane (every field of the selected item) and the summary panel (per lock, thread, channel). */
import { DeadlockThread, KINDS, parseLoc, TraceEvent } from '../../protocol';
import {
  Arrow, fmtBytes, fmtDuration, fmtPct, fmtTime, kindLabel, Selection, summarize, Summary, TimelineModel,
} from '../model';
import { exitText } from '../model/layout';
import { intervalLabel } from '../render/draw';
import { clear, el } from './dom';

export interface PanelActions {
  openSource(loc: string): void;
  selectLock(obj: number): void;
  revealLane(key: string): void;
}

/** Rows of [field, value] describing a selection; values are plain strings. */
export function describe(model: TimelineModel, s: Selection): { title: string; fields: [string, string][]; events: TraceEvent[]; eventLabels?: string[]; stacks?: { name: string; lines: string[] }[] } {
  switch (s.type) {
    case 'arrow': {
      const a = s.arrow;
      const end = (ev: TraceEvent, key: string) => `${kindLabel(ev)} on ${model.lane(key)?.name ?? key} (${key}) at ${fmtTime(ev.ts, 1e9)}`;
      const fields: [string, string][] = [
        ['kind', a.kind],
        ['from', end(a.from, a.fromLane)],
        ['to', end(a.to, a.toLane)],
        ['latency', fmtDuration(a.to.ts - a.from.ts)],
      ];
      const obj = a.from.obj ?? a.to.obj;
      if (obj !== undefined && a.kind !== 'deadlock') fields.push(['object', `${model.objName(obj)} (${model.objects.get(obj)?.type ?? 'object'})`]);
      const { preview, size } = arrowPayload(a);
      if (preview !== undefined) fields.push(['payload', preview]);
      if (size !== undefined) fields.push(['size', fmtBytes(size)]);
      return { title: `${a.kind} arrow: ${kindLabel(a.from)} → ${kindLabel(a.to)}`, fields, events: [a.from, a.to], eventLabels: ['from event', 'to event'] };
    }
    case 'interval': {
      const iv = s.iv;
      const end = iv.end === Infinity ? undefined : iv.end;
      const fields: [string, string][] = [
        ['lane', `${iv.lane.name} (${iv.lane.key})`],
        ['start', fmtTime(iv.start, 1e9)],
        ['end', end === undefined ? 'still open' : fmtTime(end, 1e9)],
        ['duration', end === undefined ? `≥ ${fmtDuration(model.now - iv.start)}` : fmtDuration(end - iv.start)],
      ];
      if (iv.obj !== undefined) fields.push(['object', `${model.objName(iv.obj)} (${model.objects.get(iv.obj)?.type ?? 'object'})`]);
      if (iv.count !== undefined) fields.push(['operations counted', String(iv.count)]);
      return { title: iv.k === 'aggregate' ? 'Counted operations' : intervalLabel(model, iv), fields, events: iv.close ? [iv.begin, iv.close] : [iv.begin] };
    }
    case 'instant': {
      const ev = s.inst.ev;
      return { title: kindLabel(ev), fields: [['lane', `${s.inst.lane.name} (${s.inst.lane.key})`], ['time', fmtTime(ev.ts, 1e9)]], events: [ev] };
    }
    case 'marker': {
      const m = s.marker;
      const stacks = (m.threads ?? []).map((t) => ({
        // (a thread of another process in a cycle between processes comes without a name: its lane has one)
        name: `${t.name || model.lane(`${t.pid}/${t.tid}`)?.name || 'thread'} (pid ${t.pid}, tid ${t.tid})${waitText(model, t)}${t.holding?.length ? `, holds ${t.holding.map((h) => model.objName(h)).join(', ')}` : ''}`,
        lines: Array.isArray(t.stack) ? t.stack.map(String) : [],
      }));
      const ev = m.ev;
      const extra: { name: string; lines: string[] }[] = [];
      if (m.kind === 'exception' && Array.isArray(ev.a?.stack)) extra.push({ name: 'traceback', lines: ev.a!.stack.map(String) });
      return { title: m.message, fields: [['time', fmtTime(m.ts, 1e9)], ['lanes', m.lanes.join(', ')]], events: [ev], stacks: [...stacks, ...extra] };
    }
    case 'lane': {
      const l = s.lane;
      const fields: [string, string][] = [['kind', l.kind], ['pid', String(l.pid)], ['tid', String(l.tid)], ['key', l.key]];
      if (l.obj !== undefined) fields.push(['object', String(l.obj)]);
      if (l.pool !== undefined) fields.push(['pool', model.objName(l.pool)]);
      if (Number.isFinite(l.first)) fields.push(['first event', fmtTime(l.first, 1e9)], ['last event', fmtTime(l.last, 1e9)]);
      return { title: l.name, fields, events: [] };
    }
    case 'process': {
      const p = s.process;
      const fields: [string, string][] = [['status', exitText(p)], ['parent', p.ppid !== undefined ? String(p.ppid) : '—']];
      if (p.method) fields.push(['started by', p.method]);
      if (p.emitted !== undefined) fields.push(['events emitted', String(p.emitted)]);
      if (p.dropped !== undefined) fields.push(['events dropped', String(p.dropped)]);
      return { title: p.name, fields, events: [] };
    }
    case 'pool': {
      const o = model.objects.get(s.pool);
      return { title: model.objName(s.pool), fields: [['type', o?.type ?? 'pool'], ['object', String(s.pool)]], events: [] };
    }
  }
}

/** The payload an arrow carried: the sending end's preview and size (else the receiving end's). */
export function arrowPayload(a: Arrow): { preview?: string; size?: number } {
  const pick = <T>(f: (ev: TraceEvent) => T | undefined): T | undefined => f(a.from) ?? f(a.to);
  return {
    preview: pick((ev) => (typeof ev.a?.preview === 'string' ? ev.a.preview : undefined)),
    size: pick((ev) => (typeof ev.a?.size === 'number' && Number.isFinite(ev.a.size) ? ev.a.size : undefined)),
  };
}

/** One line for an arrow's tooltip: "message 0.3 ms: 'item 4' (28 B)". Plain text, never markup. */
export function arrowCaption(a: Arrow): string {
  const { preview, size } = arrowPayload(a);
  let text = `${a.kind} ${fmtDuration(a.to.ts - a.from.ts)}`;
  if (preview !== undefined) text += `: ${preview}`;
  if (size !== undefined) text += ` (${fmtBytes(size)})`;
  return text;
}

/** An event arg as the details pane shows it: text as it is, anything else as JSON; a thread id the
 * runtime names (a lock wait's `holder`) with its thread's lane name beside it. */
export function argText(model: TimelineModel, ev: TraceEvent, k: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (k === 'holder' && typeof v === 'number') {
    const lane = model.lane(`${ev.pid}/${v}`);
    if (lane) return `${v} — ${lane.name}`;
  }
  if (k === 'approx' && v === true && ev.k === 'lock.release') {
    return 'yes — the releasing hold was only counted, so this is when the waiter got the lock';
  }
  return JSON.stringify(v);
}

export function renderDetails(host: HTMLElement, model: TimelineModel, s: Selection | undefined, actions: PanelActions): void {
  clear(host);
  if (!s) {
    host.append(el('p', { class: 'muted' }, 'Click a slice, message or marker to see every field here.'));
    return;
  }
  const d = describe(model, s);
  host.append(el('h3', {}, d.title));
  const table = el('table', { class: 'fields' });
  for (const [k, v] of d.fields) table.append(el('tr', {}, el('th', {}, k), el('td', {}, v)));
  for (const [i, ev] of d.events.entries()) {
    table.append(el('tr', { class: 'sep' }, el('th', {}, d.eventLabels?.[i] ?? (ev.ph === 'e' ? 'end event' : 'event')), el('td', {}, `${ev.k} (${KINDS[ev.k].label}), phase ${ev.ph}`)));
    for (const [k, v] of Object.entries(ev)) {
      if (k === 'a' || k === 'k' || k === 'ph') continue;
      if (k === 'loc' && typeof v === 'string') {
        const link = el('a', { href: '#', class: 'loc', title: 'Open this line in the editor' }, v);
        link.addEventListener('click', (e) => { e.preventDefault(); actions.openSource(v); });
        table.append(el('tr', {}, el('th', {}, 'source'), el('td', {}, link)));
      } else if (k === 'obj' && typeof v === 'number') {
        const o = model.objects.get(v);
        const td = el('td', {}, `${v} — ${model.objName(v)}`);
        if (o?.kind === 'lock') {
          const a = el('a', { href: '#', title: 'Highlight every waiter and holder of this lock' }, ' highlight');
          a.addEventListener('click', (e) => { e.preventDefault(); actions.selectLock(v); });
          td.append(a);
        }
        table.append(el('tr', {}, el('th', {}, 'obj'), td));
      } else table.append(el('tr', {}, el('th', {}, k), el('td', {}, String(v))));
    }
    for (const [k, v] of Object.entries(ev.a ?? {})) {
      if (k === 'stack' || k === 'threads') continue;
      const text = argText(model, ev, k, v);
      // Payload previews are shown verbatim, as text, in a pre so repr() quoting stays visible.
      const cell = k === 'preview' ? el('td', {}, el('pre', { class: 'preview' }, text)) : el('td', {}, text);
      table.append(el('tr', {}, el('th', {}, k), cell));
    }
  }
  host.append(table);
  for (const st of d.stacks ?? []) {
    host.append(el('h4', {}, st.name));
    const pre = el('pre', { class: 'stack' });
    for (const line of st.lines) {
      const m = /^(.*:\d+)(?: in (.*))?$/.exec(line);
      const loc = m ? m[1] : undefined;
      if (loc && parseLoc(loc)) {
        const a = el('a', { href: '#' }, line);
        a.addEventListener('click', (e) => { e.preventDefault(); actions.openSource(loc); });
        pre.append(a, '\n');
      } else pre.append(line, '\n');
    }
    host.append(pre);
  }
}

/** ' waits for …' of a thread in a deadlock report: the object, else what it waits in (a join, a pipe). */
function waitText(model: TimelineModel, t: DeadlockThread): string {
  const holder = typeof t.waitingForOwner === 'string' ? t.waitingForOwner
    : typeof t.waitingForProcess === 'number' ? `pid ${t.waitingForProcess}` : undefined;
  const ended = t.ownerEnded && holder !== undefined ? `, held by ${holder} (ended)` : '';
  if (t.waitingFor !== undefined) return ` waits for ${model.objName(t.waitingFor)}${ended}`;
  if (typeof t.waitType !== 'string') return '';
  return ` waits in ${t.waitType}${typeof t.waitingForProcess === 'number' ? ` of pid ${t.waitingForProcess}` : ''}`;
}

export function renderSummary(host: HTMLElement, model: TimelineModel, actions: PanelActions): Summary {
  const s = summarize(model);
  clear(host);
  host.append(el('h3', {}, 'Summary'));
  const facts = el('table', { class: 'fields' },
    el('tr', {}, el('th', {}, 'wall time'), el('td', {}, fmtDuration(s.wallUs))),
    el('tr', {}, el('th', {}, 'parallelism'), el('td', {}, `${s.parallelism.toFixed(2)} threads busy on average`)),
    el('tr', {}, el('th', {}, 'events'), el('td', {}, `${s.events}${s.folded ? ` (${s.folded} counted as density)` : ''}`)),
    el('tr', {}, el('th', {}, 'processes'), el('td', {}, String(model.processes.size))),
  );
  host.append(facts);

  host.append(el('h4', {}, `Locks (${s.locks.length})`));
  host.append(table(['lock', 'acq.', 'contention', 'total wait', 'max wait', 'total hold', 'owners', 'hand-offs (median wake)'], s.locks.map((l) => ({
    cells: [l.name, String(l.acquisitions), fmtPct(l.contentionPct), fmtDuration(l.totalWaitUs), fmtDuration(l.maxWaitUs), fmtDuration(l.totalHoldUs), l.owners.join(', '),
      l.handoffs ? `${l.handoffs}${l.medianHandoffUs === undefined ? '' : ` (${fmtDuration(l.medianHandoffUs)})`}` : '—'],
    onClick: () => actions.selectLock(l.obj),
  }))));
  host.append(el('h4', {}, `Threads (${s.threads.length})`));
  host.append(table(['thread', 'pid', 'alive', 'blocked', 'CPU'], s.threads.map((t) => ({
    cells: [t.name, String(t.pid), fmtDuration(t.lifetimeUs), `${fmtDuration(t.blockedUs)}${t.lifetimeUs ? ` (${fmtPct((100 * t.blockedUs) / t.lifetimeUs)})` : ''}`, t.cpuPct === undefined ? '—' : fmtPct(t.cpuPct)],
    onClick: () => actions.revealLane(t.key),
  }))));
  host.append(el('h4', {}, `Channels (${s.channels.length})`));
  host.append(table(['channel', 'type', 'sent', 'received', 'bytes'], s.channels.map((c) => ({
    cells: [c.name, c.type, String(c.sent), String(c.received), fmtBytes(c.bytes)],
  }))));
  return s;
}

function table(head: string[], rows: { cells: string[]; onClick?: () => void }[]): HTMLElement {
  const t = el('table', { class: 'grid' });
  t.append(el('tr', {}, ...head.map((h) => el('th', {}, h))));
  for (const r of rows) {
    const tr = el('tr', {}, ...r.cells.map((c) => el('td', {}, c)));
    if (r.onClick) { tr.classList.add('clickable'); tr.addEventListener('click', r.onClick); }
    t.append(tr);
  }
  if (!rows.length) t.append(el('tr', {}, el('td', { colspan: String(head.length), class: 'muted' }, 'none recorded')));
  return t;
}
