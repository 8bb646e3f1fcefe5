/**
 * The right-hand pane (details, summary, colour key): open or collapsed, and how wide.
 *
 * In VS Code the timeline often gets half the editor (~540 px); a fixed 340 px pane would leave the plot
 * a strip. So the pane starts collapsed in panels narrower than NARROW_PANEL, opens when the user selects
 * something (the details are what they asked for) or presses the toolbar toggle, and can be dragged wider
 * or narrower by the splitter (or with the arrow keys on it). Once the user opened, closed or resized it,
 * that choice is kept (ViewState.sidePane) and the panel width no longer decides.
 */
import type { ViewState } from '../../protocol';
import { button, el } from './dom';

export type SidePaneState = NonNullable<ViewState['sidePane']>;

/** Panels narrower than this start with the pane collapsed. */
export const NARROW_PANEL = 900;
export const SIDE_DEFAULT = 340;
export const SIDE_MIN = 180;
/** The timeline keeps at least this much when the pane is dragged wide. */
export const TIMELINE_MIN = 220;
/** The splitter's width (style.css .splitter). */
export const SPLITTER_W = 5;
const KEY_STEP = 24;

/**
 * Whether the pane shows and how wide (px), for a panel this wide: the user's choice when there is one,
 * else open only in wide panels; the width is the user's (or 340 px, at most 45 % of a narrow panel),
 * kept between SIDE_MIN and what leaves the timeline TIMELINE_MIN.
 */
export function sidePaneLayout(panelWidth: number, s: SidePaneState | undefined): { open: boolean; width: number } {
  const open = typeof s?.open === 'boolean' ? s.open : panelWidth >= NARROW_PANEL;
  const wanted = typeof s?.width === 'number' && Number.isFinite(s.width) ? s.width : Math.min(SIDE_DEFAULT, Math.round(panelWidth * 0.45));
  const max = Math.max(SIDE_MIN, panelWidth - SPLITTER_W - TIMELINE_MIN);
  return { open, width: Math.round(Math.min(max, Math.max(SIDE_MIN, wanted))) };
}

export class SidePane {
  /** Toolbar button that shows/hides the pane (aria-pressed says which). */
  readonly toggle: HTMLButtonElement;
  /** The draggable border between the timeline and the pane. */
  readonly splitter: HTMLElement;
  private state: SidePaneState | undefined;
  private panelWidth = 0;
  private shown = { open: false, width: SIDE_DEFAULT };

  /** `changed` runs after the user changed the pane (to persist it); the timeline resizes by itself. */
  constructor(readonly pane: HTMLElement, saved: SidePaneState | undefined, private readonly changed: () => void) {
    if (saved && (typeof saved.open === 'boolean' || typeof saved.width === 'number')) this.state = { ...saved };
    pane.id ||= 'il-side';
    this.toggle = button('Details', 'Show or hide the details, summary and colour key', () => this.setOpen(!this.open),
      { class: 'pane-toggle', 'aria-controls': pane.id, 'aria-pressed': 'false' });
    this.splitter = el('div', { class: 'splitter', role: 'separator', tabindex: '0', 'aria-orientation': 'vertical',
      'aria-controls': pane.id, 'aria-label': 'Resize the details pane (arrow keys)' });
    this.splitter.addEventListener('pointerdown', (e) => this.drag(e));
    this.splitter.addEventListener('keydown', (e) => {
      const d = e.key === 'ArrowLeft' ? KEY_STEP : e.key === 'ArrowRight' ? -KEY_STEP : 0;
      if (!d) return;
      e.preventDefault();
      e.stopPropagation();   // not a timeline pan
      this.setWidth(this.shown.width + d);
    });
    this.apply();   // consistent before the first fit(): a hidden webview may report width 0
  }

  get open(): boolean {
    return this.shown.open;
  }

  /** The pane's width in px, 0 when collapsed. */
  get width(): number {
    return this.shown.open ? this.shown.width : 0;
  }

  /** What to persist: undefined until the user chose (then the panel width decides each time). */
  get saved(): SidePaneState | undefined {
    return this.state ? { ...this.state } : undefined;
  }

  setOpen(open: boolean): void {
    if (open === this.shown.open && this.state?.open === open) return;
    this.state = { ...this.state, open };
    this.apply();
    this.changed();
  }

  /** The panel (the webview) is this wide now: re-derive the default and the width limits. */
  fit(panelWidth: number): void {
    if (panelWidth <= 0 || panelWidth === this.panelWidth) return;
    this.panelWidth = panelWidth;
    this.apply();
  }

  private setWidth(px: number): void {
    this.state = { ...this.state, open: true, width: Math.round(px) };
    this.apply();
    this.state.width = this.shown.width;   // what is shown (within the limits) is what is kept
    this.changed();
  }

  private apply(): void {
    this.shown = sidePaneLayout(this.panelWidth || SIDE_DEFAULT + NARROW_PANEL, this.state);
    this.pane.hidden = !this.shown.open;
    this.splitter.hidden = !this.shown.open;
    // CSSOM, not a style attribute: the webview's CSP allows no inline style attributes.
    this.pane.style.width = `${this.shown.width}px`;
    this.splitter.setAttribute('aria-valuenow', String(this.shown.width));
    this.toggle.setAttribute('aria-pressed', String(this.shown.open));
    this.toggle.setAttribute('aria-expanded', String(this.shown.open));
    this.toggle.classList.toggle('on', this.shown.open);
  }

  private drag(e: PointerEvent): void {
    if (e.button !== 0) return;
    e.preventDefault();
    const right = this.pane.getBoundingClientRect().right;
    // Where on the splitter it was grabbed: the pane's edge follows the pointer without a jump.
    const grab = right - e.clientX - this.shown.width;
    this.splitter.setPointerCapture(e.pointerId);
    this.splitter.classList.add('dragging');
    const move = (m: PointerEvent) => {
      this.state = { ...this.state, open: true, width: Math.round(right - m.clientX - grab) };
      this.apply();
    };
    const up = () => {
      this.splitter.removeEventListener('pointermove', move);
      this.splitter.removeEventListener('pointerup', up);
      this.splitter.removeEventListener('pointercancel', up);
      this.splitter.classList.remove('dragging');
      // Keep what was shown (clamped), not where the pointer went past the limits.
      this.state = { open: true, width: this.shown.width };
      this.changed();
    };
    this.splitter.addEventListener('pointermove', move);
    this.splitter.addEventListener('pointerup', up);
    this.splitter.addEventListener('pointercancel', up);
  }
}
