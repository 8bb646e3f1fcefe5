/** The filter popover: processes/threads and event categories, as checkboxes. */
import { CATEGORIES, Category, Kind, KIND_NAMES, KINDS } from '../../protocol';
import { ArrowKind, processKey, TimelineModel } from '../model';
import { clear, el } from './dom';

export const ARROW_KINDS: ArrowKind[] = ['message', 'task', 'spawn', 'join', 'wake', 'flow', 'deadlock'];

export function kindsOf(cat: Category): Kind[] {
  return KIND_NAMES.filter((k) => KINDS[k].cat === cat);
}

export interface FilterState {
  hiddenKinds: Set<string>;
  hiddenLanes: Set<string>;
}

export function renderFilters(host: HTMLElement, model: TimelineModel, f: FilterState, changed: () => void): void {
  clear(host);
  const box = (label: string, checked: boolean, onChange: (on: boolean) => void, indent = 0) => {
    const input = el('input', { type: 'checkbox' });
    input.checked = checked;
    input.addEventListener('change', () => { onChange(input.checked); changed(); });
    const row = el('label', { class: 'check' }, input, ' ', label);
    // CSSOM, not a style attribute: the webview's CSP allows no inline style attributes.
    row.style.paddingLeft = `${indent * 14}px`;
    return row;
  };
  const lanes = el('div', { class: 'filter-col' }, el('h4', {}, 'Processes and threads'));
  for (const p of [...model.processes.values()].sort((a, b) => a.order - b.order)) {
    const pk = processKey(p.pid);
    lanes.append(box(`${p.name} (pid ${p.pid})`, !f.hiddenLanes.has(pk), (on) => toggle(f.hiddenLanes, pk, on)));
    for (const lane of model.lanes.values()) {
      if (lane.pid !== p.pid) continue;
      lanes.append(box(lane.name, !f.hiddenLanes.has(lane.key), (on) => toggle(f.hiddenLanes, lane.key, on), lane.parentKey ? 2 : 1));
    }
  }
  const kinds = el('div', { class: 'filter-col' }, el('h4', {}, 'Event kinds'));
  for (const cat of CATEGORIES) {
    const ks = kindsOf(cat);
    kinds.append(box(cat, !ks.every((k) => f.hiddenKinds.has(k)), (on) => { for (const k of ks) toggle(f.hiddenKinds, k, on); }));
  }
  kinds.append(el('h4', {}, 'Arrows'));
  for (const a of ARROW_KINDS) kinds.append(box(a, !f.hiddenKinds.has(`arrow:${a}`), (on) => toggle(f.hiddenKinds, `arrow:${a}`, on)));
  host.append(el('div', { class: 'filter-cols' }, lanes, kinds));
}

function toggle(set: Set<string>, key: string, shown: boolean): void {
  if (shown) set.delete(key);
  else set.add(key);
}
