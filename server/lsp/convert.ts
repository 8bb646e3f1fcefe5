/** Issues → LSP diagnostics, code actions and hovers (the only place that knows both shapes). */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL, fileURLToPath } from 'url';
import {
  CodeAction, CodeActionKind, Diagnostic, DiagnosticSeverity, DiagnosticRelatedInformation, Range as LspRange,
} from 'vscode-languageserver/node';
import type { RevealQuery } from '../../protocol/webview';
import { RuleCode, SHOW_IN_TIMELINE_COMMAND, Severity } from '../../protocol/lsp';
import type { Issue } from '../analysis/rules';
import { quickFixes } from '../analysis/fixes';

export const SOURCE = 'interleave';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** server/RULES.md, beside the bundle or in the source tree; diagnostics link to its rule sections. */
const rulesDoc = (() => {
  for (const p of [path.join(__dirname, 'RULES.md'), path.join(__dirname, '..', 'RULES.md'), path.join(__dirname, '..', 'server', 'RULES.md')]) {
    if (fs.existsSync(p)) return pathToFileURL(p).toString();
  }
  return undefined;
})();

export function docsLink(code: RuleCode): string | undefined {
  return rulesDoc ? `${rulesDoc}#${code.toLowerCase()}` : undefined;
}

export function toDiagnostic(issue: Issue, uri: string): Diagnostic {
  const related: DiagnosticRelatedInformation[] = issue.related.map((r) => ({
    location: { uri: r.file ? (r.file.includes('://') ? r.file : pathToFileURL(r.file).toString()) : uri, range: r.range },
    message: r.message,
  }));
  const d: Diagnostic = {
    range: issue.range,
    severity: SEVERITY[issue.severity],
    code: issue.code,
    source: SOURCE,
    message: issue.message,
    relatedInformation: related,
    data: { names: issue.names },
  };
  const href = docsLink(issue.code);
  if (href) d.codeDescription = { href };
  return d;
}

function sameRange(a: LspRange, b: LspRange): boolean {
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** The issue a diagnostic from the client's context stands for. */
export function issueFor(d: Diagnostic, issues: Issue[]): Issue | undefined {
  return issues.find((i) => i.code === d.code && sameRange(i.range, d.range));
}

/** `file:///x.py` → `/x.py` (RevealQuery wants a path); other schemes are kept as they are. */
function locPath(uri: string): string {
  try { return uri.startsWith('file:') ? fileURLToPath(uri) : uri; } catch { return uri; }
}

export function codeActions(text: string, uri: string, diagnostics: Diagnostic[], issues: Issue[]): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const d of diagnostics) {
    if (d.source !== SOURCE) continue;
    const issue = issueFor(d, issues);
    if (!issue) continue;
    for (const fix of quickFixes(text, issue)) {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: fix.preferred,
        edit: { changes: { [uri]: fix.edits } },
      });
    }
    const query: RevealQuery = { loc: `${locPath(uri)}:${issue.range.start.line + 1}`, names: issue.names };
    actions.push({
      title: 'Show in timeline',
      kind: CodeActionKind.Empty,
      diagnostics: [d],
      command: { title: 'Show in timeline', command: SHOW_IN_TIMELINE_COMMAND, arguments: [query] },
    });
  }
  return actions;
}
