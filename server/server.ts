/**
 * Entry point of the Interleave language server (bundled to dist/server.js). The transport comes from
 * the command line, as vscode-languageserver reads it: `--stdio`, `--node-ipc` or `--socket=<port>`.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './lsp/server';

const connection = createConnection(ProposedFeatures.all);

// A bug in one analysis must not take the editor's diagnostics down with it: log and keep serving.
process.on('uncaughtException', (err) => connection.console.error(`[interleave] uncaught: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => connection.console.error(`[interleave] unhandled rejection: ${String(err)}`));

startServer(connection);
connection.listen();
