/**
 * Entry of the timeline bundle (dist/webview.js). Inside VS Code it talks to the extension host
 * through the protocol's ToWebview/FromWebview messages; in a standalone report it reads the trace
 * embedded in the page. Everything arriving is validated before it reaches the model.
 */
import { checkToWebview, readChromeText, REPORT_DATA_ELEMENT_ID, ToWebview, ViewState, FromWebview } from '../protocol';
import { Host, TimelineApp } from './ui/app';
import { sortedByTime } from './model/timeline';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

/** Events are appended in slices so a huge report does not block the first paint for seconds. */
const REPORT_SLICE = 250_000;

function start(): void {
  const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
  root.id = 'app';
  if (typeof acquireVsCodeApi === 'function') startInVsCode(root, acquireVsCodeApi());
  else startReport(root);
}

function startInVsCode(root: HTMLElement, vscode: VsCodeApi): void {
  const host: Host = {
    live: true,
    post: (m: FromWebview) => vscode.postMessage(m),
    getState: () => (vscode.getState() as ViewState | undefined) ?? undefined,
    setState: (s) => vscode.setState(s),
  };
  let app: TimelineApp;
  try {
    app = new TimelineApp(root, host);
  } catch (err) {
    host.post({ type: 'log', level: 'error', message: `timeline failed to start: ${(err as Error).message}` });
    root.textContent = `The timeline could not start: ${(err as Error).message}`;
    return;
  }
  window.addEventListener('message', (e: MessageEvent) => {
    const { msg, dropped } = checkToWebview(e.data);
    if (dropped) app.warn(`${dropped} malformed event(s) were skipped`);
    if (!msg) {
      host.post({ type: 'log', level: 'warn', message: 'ignored a malformed message from the host' });
      return;
    }
    handle(app, msg);
  });
  window.addEventListener('error', (e) => host.post({ type: 'log', level: 'error', message: String(e.message) }));
  exposeTestHooks(app);
  host.post({ type: 'ready' });
}

/**
 * Read-only hooks for tests and the benchmark (they change nothing): the app itself and
 * `__interleaveTest.locate(kind)`, the on-screen coordinates of the first visible item of a kind.
 */
function exposeTestHooks(app: TimelineApp): void {
  const w = window as unknown as { interleave?: TimelineApp; __interleaveTest?: { locate(kind: string): ReturnType<TimelineApp['locate']> } };
  w.interleave = app;
  w.__interleaveTest = { locate: (kind) => app.locate(kind) };
}

function handle(app: TimelineApp, msg: ToWebview): void {
  switch (msg.type) {
    case 'reset': app.reset(msg.source.title, msg.metadata); break;
    case 'events': app.append(msg.events); break;
    case 'status': app.status(msg.running, msg.stats); break;
    case 'end': app.end(msg.exitCode, msg.signal, msg.metadata); break;
    case 'warning': app.warn(msg.message); break;
    case 'reveal': app.reveal(msg.query); break;
  }
}

function startReport(root: HTMLElement): void {
  const host: Host = { live: false, post: () => undefined, getState: () => undefined, setState: () => undefined };
  const app = new TimelineApp(root, host);
  const data = document.getElementById(REPORT_DATA_ELEMENT_ID);
  app.reset(document.title || 'Interleave report');
  // The same messages as from VS Code may be posted by the page itself (the benchmark streams this way);
  // only the window's own messages count, never another frame's.
  window.addEventListener('message', (e: MessageEvent) => {
    if (e.source !== window) return;
    const { msg, dropped } = checkToWebview(e.data);
    if (dropped) app.warn(`${dropped} malformed event(s) were skipped`);
    if (msg) handle(app, msg);
  });
  exposeTestHooks(app);
  if (!data || !data.textContent || !data.textContent.trim()) {
    if (data) app.warn('This report contains no trace data.');
    return;
  }
  let result;
  try {
    result = readChromeText(data.textContent);
  } catch (err) {
    app.warn(`The embedded trace could not be read: ${(err as Error).message}`);
    return;
  }
  for (const w of result.warnings) app.warn(w);
  if (typeof result.metadata.exitCode === 'number' || result.metadata.exitCode === null) {
    app.end(result.metadata.exitCode as number | null, undefined, result.metadata);
  }
  // One sort of the whole file (our writer emits slices in end order) lets every slice append in order.
  const events = sortedByTime(result.events);
  if (!events.length) app.warn('The trace has no events to show.');
  for (let i = 0; i < events.length; i += REPORT_SLICE) app.append(events.slice(i, i + REPORT_SLICE));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
