/**
 * Loads manifests in a short-lived child process. The parser and the schema library stay out of the
 * long-running supervisor's memory (about 20 MB of RSS there); only the plan comes back. A child can be
 * started ahead of need (`prepare`), so its imports run while an edit's debounce is still waiting.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadContext, LoadedManifest, LoadResult } from './load.js';

const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));
/** A manifest of thousands of gateways plans in well under a second; this bound only catches a wedged child. */
const LOAD_TIMEOUT_MS = 30_000;

/** The wire form of a load result: maps become entry lists. */
export type SerializedLoad =
  | { ok: true; manifest: Omit<LoadedManifest, 'envFiles'> & { envFiles: Array<[string, Record<string, string>]> } }
  | { ok: false; problems: Extract<LoadResult, { ok: false }>['problems'] };

/** What the supervisor asks the loader child. */
export interface LoadRequest {
  readonly file: string;
  readonly display: string;
}

/** Turns a load result into JSON-safe data (secrets included: it only travels over a pipe to the parent). */
export function serializeLoad(result: LoadResult): SerializedLoad {
  if (!result.ok) return result;
  return { ok: true, manifest: { ...result.manifest, envFiles: [...result.manifest.envFiles.entries()] } };
}

function deserialize(data: SerializedLoad): LoadResult {
  if (!data.ok) return data;
  return { ok: true, manifest: { ...data.manifest, envFiles: new Map(data.manifest.envFiles) } };
}

/** Loads manifests through warm child processes, one per load. */
export class PlanLoader {
  private warm: ChildProcess | undefined;

  constructor(private readonly ctx: LoadContext) {}

  /** Starts a child now so its imports are done by the time `load` is called. */
  prepare(): void {
    if (this.warm === undefined || this.warm.exitCode !== null) this.warm = this.spawnChild();
  }

  /** Loads `file`; resolves with what `loadManifest` would return, never rejects. */
  load(file: string, display: string = file): Promise<LoadResult> {
    this.prepare();
    const child = this.warm!;
    this.warm = undefined;
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const finish = (result: LoadResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const fail = (why: string): void =>
        finish({ ok: false, problems: [{ file: display, path: [], message: `could not load the manifest (${why})${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}` }] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail('timed out');
      }, LOAD_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', (error) => fail(error.message));
      child.on('close', () => {
        try {
          finish(deserialize(JSON.parse(stdout) as SerializedLoad));
        } catch {
          fail(`the loader exited with ${child.exitCode ?? child.signalCode}`);
        }
      });
      const request: LoadRequest = { file, display };
      child.stdin!.end(`${JSON.stringify(request)}\n`);
    });
  }

  /** Ends a prepared child that was never used. */
  dispose(): void {
    this.warm?.kill('SIGKILL');
    this.warm = undefined;
  }

  private spawnChild(): ChildProcess {
    const child = spawn(process.execPath, [CLI_PATH, '__plan'], {
      cwd: this.ctx.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: this.ctx.home, XDG_STATE_HOME: this.ctx.stateHome },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin!.on('error', () => undefined);
    return child;
  }
}

/** The child's side: reads one request from stdin, loads it with the parser, prints the result. */
export async function servePlanRequest(ctx: LoadContext, stdin: NodeJS.ReadableStream, write: (text: string) => void): Promise<void> {
  const { loadManifest } = await import('./load.js');
  let input = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) input += chunk as string;
  const request = JSON.parse(input) as LoadRequest;
  write(JSON.stringify(serializeLoad(loadManifest(request.file, ctx, request.display))));
}
