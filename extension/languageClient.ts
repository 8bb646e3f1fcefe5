/**
 * The language client for the lint server (dist/server.js) on Python documents. Start-up failures and
 * crashes are reported once in the output channel and as one notification; a server that keeps dying is
 * not restarted in a loop (the user can run "Interleave: Restart Language Server").
 */
import * as fs from 'fs';
import * as vscode from 'vscode';
import {
  CloseAction, CloseHandlerResult, ErrorAction, ErrorHandler, ErrorHandlerResult, LanguageClient, LanguageClientOptions,
  Message, ServerOptions, TransportKind,
} from 'vscode-languageclient/node';
import { AnalysisStatsNotification, LintSettings } from '../protocol/lsp';

/** Restarts allowed after unexpected exits within one session of the client, before giving up. */
const MAX_RESTARTS = 2;

export function lintSettings(): LintSettings {
  const c = vscode.workspace.getConfiguration('interleave.lint');
  return { enable: c.get<boolean>('enable', true), rules: c.get<LintSettings['rules']>('rules', {}) };
}

export class LintClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private reported = false;
  /** Documents the server finished analysing (from its analysisStats notification), uri → findings. */
  readonly analysed = new Map<string, number>();

  constructor(private readonly serverModule: string, private readonly log: vscode.LogOutputChannel) {}

  async start(): Promise<void> {
    this.reported = false;
    // The client library turns a missing module into repeated forced notifications; check it ourselves.
    if (!fs.existsSync(this.serverModule)) {
      this.reportOnce(`the language server is missing (${this.serverModule}); lint diagnostics are off. Rebuild the extension (npm run build).`);
      return;
    }
    const serverOptions: ServerOptions = {
      run: { module: this.serverModule, transport: TransportKind.ipc },
      debug: { module: this.serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
    };
    let restarts = 0;
    const errorHandler: ErrorHandler = {
      error: (error: Error, _message: Message | undefined, count: number | undefined): ErrorHandlerResult => {
        this.reportOnce(`language server connection error: ${error.message}`);
        // A few transport errors are survivable; many in a row mean the server is broken.
        return { action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
      },
      closed: (): CloseHandlerResult => {
        if (restarts < MAX_RESTARTS) {
          restarts++;
          this.log.warn(`language server exited unexpectedly; restarting (${restarts}/${MAX_RESTARTS})`);
          return { action: CloseAction.Restart, handled: true };
        }
        this.reportOnce('the language server keeps exiting; it was not restarted again. Run "Interleave: Restart Language Server" to try again.');
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'python' }, { scheme: 'untitled', language: 'python' }],
      initializationOptions: lintSettings(),
      synchronize: { configurationSection: 'interleave' },
      outputChannel: this.log,
      revealOutputChannelOn: 4, // RevealOutputChannelOn.Never: we report problems once ourselves
      errorHandler,
      initializationFailedHandler: (err) => {
        this.reportOnce(`the language server failed to start: ${err instanceof Error ? err.message : String(err)}`);
        return false; // do not retry initialisation
      },
    };
    this.client = new LanguageClient('interleave', 'Interleave Lint', serverOptions, clientOptions);
    try {
      await this.client.start();
      this.client.onNotification(AnalysisStatsNotification.method, (p: AnalysisStatsNotification.Params) => {
        this.analysed.set(p.uri, p.findings);
        this.log.trace(`analysed ${p.uri}: parse ${p.parseMs.toFixed(1)} ms, analyse ${p.analyseMs.toFixed(1)} ms, ${p.findings} finding(s)`);
      });
    } catch (err) {
      this.reportOnce(`the language server failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    this.analysed.clear();
    await this.start();
    this.log.info('language server restarted');
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c || !c.needsStop()) return;
    try {
      await c.stop(5000);
    } catch (err) {
      this.log.warn(`stopping the language server: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  get isRunning(): boolean {
    return this.client?.isRunning() ?? false;
  }

  private reportOnce(message: string): void {
    this.log.error(message);
    if (this.reported) return;
    this.reported = true;
    void vscode.window.showErrorMessage(`Interleave: ${message}`, 'Show Log').then((a) => {
      if (a) this.log.show(true);
    });
  }

  dispose(): void {
    void this.stop();
  }
}
