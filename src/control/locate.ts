/**
 * Finding a running supervisor from its manifest path alone, without parsing the manifest: the default
 * runtime dir is a function of the path, and a supervisor with a custom runtime dir leaves a pointer there.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SOCKET_NAME } from './protocol.js';

const POINTER_NAME = 'runtime-dir';

/** The per-manifest runtime dir when the manifest does not name one (the planner uses the same rule). */
export function defaultRuntimeDir(manifestPath: string, stateHome: string): string {
  const hash = createHash('sha256').update(manifestPath).digest('hex').slice(0, 8);
  const base = path.basename(manifestPath).replace(/\.(ya?ml|json)$/i, '');
  return path.join(stateHome, 'clawfleet', `${base}-${hash}`);
}

/** Leaves a pointer to a custom runtime dir where clients look first. */
export function writeRuntimePointer(manifestPath: string, stateHome: string, runtimeDir: string): void {
  const home = defaultRuntimeDir(manifestPath, stateHome);
  if (home === runtimeDir) {
    // Back at the default dir: a pointer left from a custom one would send clients there.
    rmSync(path.join(home, POINTER_NAME), { force: true });
    return;
  }
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(home, POINTER_NAME), `${runtimeDir}\n`, { mode: 0o600 });
}

/** The runtime dir of the supervisor of `manifestPath`, following a pointer when there is one. */
export function locateRuntimeDir(manifestPath: string, stateHome: string): string {
  const home = defaultRuntimeDir(manifestPath, stateHome);
  try {
    const pointed = readFileSync(path.join(home, POINTER_NAME), 'utf8').trim();
    if (pointed) return pointed;
  } catch {
    // no pointer: the default dir is the runtime dir
  }
  return home;
}

/** The control socket of the supervisor of `manifestPath`. */
export function locateSocket(manifestPath: string, stateHome: string): string {
  return path.join(locateRuntimeDir(manifestPath, stateHome), SOCKET_NAME);
}
