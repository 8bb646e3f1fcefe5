/** A "Run with Interleave tracing" lens above `if __name__ == "__main__":`. */
import * as vscode from 'vscode';
import { mainGuardLines } from './run/mainGuard';

export class MainGuardCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    return mainGuardLines(doc.getText()).map((line) => new vscode.CodeLens(new vscode.Range(line, 0, line, 0), {
      title: '$(debug-alt) Run with Interleave tracing',
      command: 'interleave.traceCurrentFile',
      arguments: [doc.uri],
      tooltip: 'Run this file under the Interleave runtime and show its concurrency timeline',
    }));
  }
}
