/**
 * The interpreter to trace with: asks the Python extension (when installed) for the environment selected
 * for the file, then falls back to the `interleave.pythonPath` setting and PATH (run/interpreter.ts).
 */
import * as vscode from 'vscode';
import { candidates, probePython, resolveInterpreter, Resolution } from './run/interpreter';

const PYTHON_EXTENSION_ID = 'ms-python.python';

async function fromPythonExtension(resource: vscode.Uri, log: vscode.LogOutputChannel): Promise<string | undefined> {
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) return undefined;
  try {
    // Loaded lazily: the module is only useful when the Python extension is there.
    const { PythonExtension } = await import('@vscode/python-extension');
    const api = await PythonExtension.api();
    const envPath = api.environments.getActiveEnvironmentPath(resource);
    const env = await api.environments.resolveEnvironment(envPath);
    return env?.executable.uri?.fsPath ?? envPath.path;
  } catch (err) {
    log.warn(`could not ask the Python extension for the interpreter: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

export async function findInterpreter(resource: vscode.Uri, log: vscode.LogOutputChannel): Promise<Resolution> {
  const setting = vscode.workspace.getConfiguration('interleave', resource).get<string>('pythonPath');
  const list = candidates({ fromPythonExtension: await fromPythonExtension(resource, log), setting, platform: process.platform });
  const r = await resolveInterpreter(list, (p) => probePython(p));
  for (const t of r.ok ? [] : r.tried) log.info(`interpreter ${t.candidate.path} (${t.candidate.source}) ${t.reason}`);
  return r;
}
