/**
 * Entry point. activate() only wires things: the output channel, commands, the panel serializer, the
 * CodeLens, the language client. The work lives in Controller and the modules it uses.
 */
import * as vscode from 'vscode';
import { TIMELINE_VIEW_TYPE } from '../protocol/webview';
import { SHOW_IN_TIMELINE_COMMAND } from '../protocol/lsp';
import type { RevealQuery } from '../protocol';
import type { InterleaveTestApi } from './api';
import { MainGuardCodeLens } from './codeLens';
import { Controller } from './controller';

let controller: Controller | undefined;

export function activate(context: vscode.ExtensionContext): InterleaveTestApi {
  const log = vscode.window.createOutputChannel('Interleave', { log: true });
  const c = (controller = new Controller(context, log));
  const reg = (id: string, fn: (...args: never[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        log.error(`${id} failed: ${err instanceof Error && err.stack ? err.stack : msg}`);
        void c.notify('error', `Interleave: ${msg}`);
        return undefined;
      }
    }));
  };
  reg('interleave.traceCurrentFile', (uri?: vscode.Uri) => c.traceFile(uri));
  reg('interleave.stopTrace', () => c.stop());
  reg('interleave.showTimeline', () => c.showTimelineForEditor());
  reg('interleave.openTrace', (uri?: vscode.Uri) => c.openTrace(uri));
  reg('interleave.saveTrace', (uri?: vscode.Uri) => c.saveTrace(uri));
  reg('interleave.exportReport', (uri?: vscode.Uri) => c.exportReport(uri));
  reg('interleave.restartLanguageServer', () => c.lint.restart());
  reg(SHOW_IN_TIMELINE_COMMAND, (q?: RevealQuery) => c.showInTimeline(typeof q === 'object' && q !== null ? q : {}));

  context.subscriptions.push(
    log,
    vscode.window.registerWebviewPanelSerializer(TIMELINE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel) => c.revivePanel(panel),
    }),
    vscode.languages.registerCodeLensProvider({ language: 'python', scheme: 'file' }, new MainGuardCodeLens()),
    { dispose: () => void c.dispose() },
  );
  void c.lint.start();
  log.info(`Interleave ${context.extension.packageJSON.version as string} activated`);
  return c.testApi();
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.dispose();
}
