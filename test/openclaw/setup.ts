/**
 * globalSetup of `npm run test:openclaw`: installs (or reuses) Node 24 and the real `openclaw` in
 * `${XDG_CACHE_HOME:-~/.cache}/clawfleet/openclaw` through scripts/install-openclaw.mjs, then hands
 * the paths to the tests with `provide`. Progress goes to stderr as it happens.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

export interface OpenclawInstall {
  dir: string;
  node24Bin: string;
  node: string;
  openclaw: string;
  nodeVersion: string;
  openclawVersion: string;
  installed: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    openclaw: OpenclawInstall;
  }
}

const SCRIPT = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'install-openclaw.mjs');

export default async function setup(project: TestProject): Promise<void> {
  process.stderr.write(`[test:openclaw] installing Node 24 and openclaw (or reusing the cache) via ${SCRIPT}\n`);
  const started = Date.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    // stderr (progress) goes straight to the terminal; stdout is the JSON result.
    const child = spawn(process.execPath, [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`install-openclaw failed with exit ${code}: see the [install-openclaw] lines above`))));
  });
  const install = JSON.parse(stdout) as OpenclawInstall;
  process.stderr.write(
    `[test:openclaw] ${install.installed ? 'installed' : 'reused'} node ${install.nodeVersion} and ${install.openclawVersion} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  project.provide('openclaw', install);
}
