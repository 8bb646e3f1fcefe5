/**
 * Host → webview message shaping that needs no `vscode` (so the browser tests can feed the webview
 * exactly what the panel posts).
 */
import type { ToWebview } from '../protocol';

/**
 * The `reset` a panel posts carries the host's event cap (interleave.maxEventsInPanel, the TraceStore's
 * cap) as `metadata.maxEventsInPanel`, the field the webview sizes its model by: both stop keeping
 * detail at the same count. A cap saved in an opened file's metadata is overridden by the current one.
 */
export function withPanelCap(msg: ToWebview, cap: number): ToWebview {
  if (msg.type !== 'reset') return msg;
  return { ...msg, metadata: { ...msg.metadata, maxEventsInPanel: cap } };
}
