/**
 * Messages between the extension host and the timeline webview (and the standalone HTML report,
 * which feeds the same webview bundle from embedded data). Discriminated by `type`.
 * Everything crossing this boundary is untrusted on the receiving side: use the guards below.
 */
import { TraceEvent } from './events';
import { isTraceEvent, isObject } from './wire';

/** Where the trace shown comes from. */
export interface TraceSource {
  kind: 'live' | 'file' | 'report';
  /** Script or file name shown in the title bar. */
  title: string;
}

export interface RunStats {
  events: number;
  dropped: number;
  processes: number;
  threads: number;
  eventsPerSecond: number;
}

/** What the timeline should reveal (from a diagnostic's "Show in timeline" action or a deadlock notification). */
export interface RevealQuery {
  /** `path:line` of source code; lanes with events at this location are revealed. */
  loc?: string;
  /** Names of shared variables or locks to highlight. */
  names?: string[];
  kind?: 'deadlock';
}

/** View state the webview persists with `setState` (zoom, selection, filters survive hide/reload). */
export interface ViewState {
  /** Visible time window in µs. */
  window?: [number, number];
  /** The selected item: where it is (lane key, start µs); for an arrow also where it ends (`to`). */
  selected?: { lane: string; ts: number; to?: { lane: string; ts: number } } | null;
  hiddenKinds?: string[];
  hiddenLanes?: string[];
  search?: string;
  followLive?: boolean;
  /** The details/summary pane as the user left it (open or collapsed, width in px); absent: by panel width. */
  sidePane?: { open?: boolean; width?: number };
}

export type ToWebview =
  /** Start over with a new trace (a new run, an opened file). */
  | { type: 'reset'; source: TraceSource; metadata?: Record<string, unknown> }
  /** Events to append, in arrival order (not necessarily time order across processes). */
  | { type: 'events'; events: TraceEvent[] }
  /** Live run progress. */
  | { type: 'status'; running: boolean; stats: RunStats }
  /** The run finished; `metadata` carries the merged summary (per-process emitted/dropped). */
  | { type: 'end'; exitCode: number | null; signal?: string | null; metadata?: Record<string, unknown> }
  /** Problems to show in the error banner (malformed input, lost batches); what is valid is still drawn. */
  | { type: 'warning'; message: string }
  | { type: 'reveal'; query: RevealQuery };

export type FromWebview =
  /** The webview has loaded and listens; the host replays the current trace after this. */
  | { type: 'ready' }
  /** Open the source location of a clicked item. */
  | { type: 'openSource'; file: string; line: number }
  /** Buttons in the panel's toolbar. */
  | { type: 'command'; command: 'saveTrace' | 'exportReport' | 'stopTrace' | 'rerun' }
  /** Rendering problems worth logging in the output channel. */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export function isFromWebview(m: unknown): m is FromWebview {
  if (!isObject(m)) return false;
  switch (m.type) {
    case 'ready': return true;
    case 'openSource': return typeof m.file === 'string' && Number.isInteger(m.line) && (m.line as number) >= 1;
    case 'command': return ['saveTrace', 'exportReport', 'stopTrace', 'rerun'].includes(m.command as string);
    case 'log': return ['info', 'warn', 'error'].includes(m.level as string) && typeof m.message === 'string';
    default: return false;
  }
}

/** Validates a host message; `events` batches are filtered event by event rather than rejected whole. */
export function checkToWebview(m: unknown): { msg?: ToWebview; dropped: number } {
  if (!isObject(m)) return { dropped: 0 };
  switch (m.type) {
    case 'reset':
      return isObject(m.source) && typeof m.source.title === 'string' ? { msg: m as unknown as ToWebview, dropped: 0 } : { dropped: 0 };
    case 'events': {
      if (!Array.isArray(m.events)) return { dropped: 0 };
      const events = m.events.filter(isTraceEvent);
      return { msg: { type: 'events', events }, dropped: m.events.length - events.length };
    }
    case 'status':
      return isObject(m.stats) && typeof m.running === 'boolean' ? { msg: m as unknown as ToWebview, dropped: 0 } : { dropped: 0 };
    case 'end':
      return { msg: m as unknown as ToWebview, dropped: 0 };
    case 'warning':
      return typeof m.message === 'string' ? { msg: m as unknown as ToWebview, dropped: 0 } : { dropped: 0 };
    case 'reveal':
      return isObject(m.query) ? { msg: m as unknown as ToWebview, dropped: 0 } : { dropped: 0 };
    default:
      return { dropped: 0 };
  }
}

/** Id of the element holding embedded trace data in a standalone HTML report. */
export const REPORT_DATA_ELEMENT_ID = 'interleave-data';
/** Webview panel view type (also used by the serializer). */
export const TIMELINE_VIEW_TYPE = 'interleave.timeline';
