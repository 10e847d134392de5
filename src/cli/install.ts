/**
 * `clawfleet install`: a systemd user unit (Linux) or a launchd agent (macOS) that runs `clawfleet up`
 * for one manifest, the way `openclaw gateway install` does for one gateway. The unit lets the
 * supervisor be restarted without the service manager killing the gateways, which the next
 * supervisor adopts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { environmentLine, execWord } from '../export/systemd.js';
import { loadManifest } from '../manifest/load.js';
import type { GatewayPlan } from '../plan/types.js';
import { type CliContext, EXIT, loadContext, manifestFile } from './context.js';
import { reportProblems } from './report.js';

const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));

/** Exits after which restarting the supervisor cannot help: an invalid manifest, another supervisor already running it. */
const NO_RESTART_EXIT_STATUSES = [EXIT.invalid, EXIT.supervisor] as const;

/** The service manager's stop timeout never goes below this: the default fleet stops in a fraction of it. */
const MIN_STOP_TIMEOUT_S = 120;

/** After a gateway's stop timeout, SIGKILL and the sweep of its tree take up to this long (process-tree's grace). */
const KILL_SWEEP_MS = 5_000;

/** State-change hooks still running when the fleet has stopped are waited for, and killed after this long. */
const HOOK_DRAIN_MS = 30_000;

/** A `--name`: what a unit name and a launchd label can carry. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** `fleet` from `fleet.yaml`: the suffix of the unit's name, as OpenClaw suffixes units with the profile. */
export function fleetName(manifestPath: string): string {
  return path.basename(manifestPath).replace(/\.(ya?ml|json)$/i, '').replace(/[^A-Za-z0-9_.-]/g, '-') || 'fleet';
}

/**
 * Seconds `clawfleet up` may take to stop the fleet on SIGTERM: every main, then every rescue, each phase as
 * long as its slowest stop timeout plus the SIGKILL sweep, then the hooks' drain. Disabled gateways count
 * too, since an edit may enable them after the unit is written.
 */
export function fleetStopSeconds(gateways: readonly Pick<GatewayPlan, 'role' | 'stop'>[]): number {
  const phaseMs = (rescue: boolean): number => {
    const timeouts = gateways.filter((g) => (g.role === 'rescue') === rescue).map((g) => g.stop.timeoutMs);
    return timeouts.length === 0 ? 0 : Math.max(...timeouts) + KILL_SWEEP_MS;
  };
  return Math.max(MIN_STOP_TIMEOUT_S, Math.ceil((phaseMs(false) + phaseMs(true) + HOOK_DRAIN_MS) / 1000));
}

/** What a unit or agent carries beyond the manifest and the programs that run it. */
export interface ServiceOptions {
  /** The installing shell's PATH: service managers start services with a minimal one. */
  readonly path?: string | undefined;
  /** How long the service manager waits for the fleet to stop (see `fleetStopSeconds`). */
  readonly stopTimeoutSec?: number;
  /** The unit's file name, for the upgrade command its comments show. */
  readonly unitName?: string;
}

/** The systemd user unit for a manifest. */
export function systemdUnit(manifestPath: string, nodePath: string, cliPath: string, options: ServiceOptions = {}): string {
  const unitName = options.unitName ?? `clawfleet-${fleetName(manifestPath)}.service`;
  // Only ExecStart= takes quoted words; WorkingDirectory= takes the rest of the line as the path.
  const specifiers = (text: string): string => text.replace(/%/g, '%%');
  const pathLines = options.path
    ? `# systemd gives user services a minimal PATH: this is the one of the shell that ran \`clawfleet install\`, so
# \`command: openclaw\` (npm's global prefix, nvm, ...) resolves as it did there. Re-run install when it changes.
${environmentLine('PATH', options.path)}
`
    : '';
  return `[Unit]
Description=${specifiers(`clawfleet: OpenClaw gateways of ${manifestPath}`)}
Documentation=https://github.com/clawfleet/clawfleet
After=network-online.target
Wants=network-online.target
# Never give up restarting the supervisor (systemd's default stops after 5 starts in 10 s): the
# gateways keep running without it, but nothing would restart them.
StartLimitIntervalSec=0

[Service]
Type=simple
WorkingDirectory=${specifiers(path.dirname(manifestPath))}
${pathLines}ExecStart=${[nodePath, cliPath, 'up', '-c', manifestPath].map(execWord).join(' ')}
# SIGHUP re-reads the manifest; the gateways never see it (they run in sessions of their own).
ExecReload=/bin/kill -HUP $MAINPID
# The supervisor is restarted whenever it dies (crash, OOM kill, SIGUSR2 for an upgrade), except after
# exit 2 (invalid manifest) and 3 (another supervisor already runs this manifest): a restart cannot help.
Restart=always
RestartSec=1
RestartPreventExitStatus=${NO_RESTART_EXIT_STATUSES.join(' ')}
# ...and only it is signalled when it stops: the gateways run in sessions of their own, keep serving
# while it is gone, and are adopted by the next supervisor. A plain stop (SIGTERM) still stops them,
# mains first and rescue last, before the supervisor exits; TimeoutStopSec covers that (each phase's
# longest stop timeout plus the SIGKILL sweep): re-run install after raising stop timeouts.
KillMode=process
KillSignal=SIGTERM
TimeoutStopSec=${options.stopTimeoutSec ?? MIN_STOP_TIMEOUT_S}
# To upgrade clawfleet without touching a gateway, signal the supervisor alone. A plain \`systemctl kill\`
# signals every process of the unit, gateways included, and SIGUSR2 restarts each OpenClaw gateway in place:
#   systemctl --user kill --kill-whom=main --signal=SIGUSR2 ${unitName}
# (systemd older than 252 spells it --kill-who=main, which newer ones still accept.)
# systemd's markers (INVOCATION_ID, JOURNAL_STREAM, ...) would make OpenClaw turn its self-restarts into
# plain exits: clawfleet never passes them to a gateway's environment.

[Install]
WantedBy=default.target
`;
}

/** The launchd agent for a manifest. */
export function launchdPlist(label: string, manifestPath: string, nodePath: string, cliPath: string, logDir: string, options: ServiceOptions = {}): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  // launchd starts agents with PATH=/usr/bin:/bin:/usr/sbin:/sbin: carry the installing shell's, as the unit does.
  const environment = options.path
    ? `  <key>EnvironmentVariables</key>
  <dict>
    <key>PATH</key><string>${esc(options.path)}</string>
  </dict>
`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>${esc(label)}</string>
  <key>ProgramArguments</key>
  <array>
    <string>${esc(nodePath)}</string>
    <string>${esc(cliPath)}</string>
    <string>up</string>
    <string>-c</string>
    <string>${esc(manifestPath)}</string>
  </array>
  <key>WorkingDirectory</key><string>${esc(path.dirname(manifestPath))}</string>
${environment}  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <!-- Gateways live in sessions of their own and are adopted by the next supervisor: never kill them with it. -->
  <key>AbandonProcessGroup</key><true/>
  <!-- Covers stopping the fleet, mains first and rescue last. -->
  <key>ExitTimeOut</key><integer>${options.stopTimeoutSec ?? MIN_STOP_TIMEOUT_S}</integer>
  <key>StandardOutPath</key><string>${esc(path.join(logDir, 'supervisor.log'))}</string>
  <key>StandardErrorPath</key><string>${esc(path.join(logDir, 'supervisor.log'))}</string>
</dict>
</plist>
`;
}

/** The manifest an installed unit or agent runs (its `up -c FILE`); undefined when clawfleet did not write it. */
export function installedManifest(text: string): string | undefined {
  const plist = /<string>up<\/string>\s*<string>-c<\/string>\s*<string>([^<]*)<\/string>/.exec(text);
  if (plist) return plist[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const word = /^ExecStart=.*? up -c (.+)$/m.exec(text)?.[1]?.trim();
  if (word === undefined) return undefined;
  // execWord's escapes, undone: a quoted word's C escapes, then `$$` and `%%`.
  const unquoted = /^".*"$/.test(word) ? word.slice(1, -1).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c)) : word;
  return unquoted.replace(/\$\$/g, '$').replace(/%%/g, '%');
}

/** Why an existing file at the unit's path must not be overwritten by this manifest's; undefined when it may. */
function overwriteConflict(file: string, manifestPath: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : `cannot read ${file} (${code ?? String(error)})`;
  }
  const installed = installedManifest(text);
  if (installed === manifestPath) return undefined;
  return installed === undefined ? `${file} exists and was not written by \`clawfleet install\`` : `${file} already runs ${installed}`;
}

/** A name for the fleet's unit that tells this manifest apart: its directory's name, then its own. */
function suggestedName(manifestPath: string): string {
  const dir = path.basename(path.dirname(manifestPath)).replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return dir ? `${dir}-${fleetName(manifestPath)}` : `${fleetName(manifestPath)}-2`;
}

/**
 * Runs `install`; `--dry-run` prints the file instead of writing it. `name` replaces the manifest's base
 * name in the unit's name (`clawfleet-<name>.service`, `ai.clawfleet.<name>`). A file at that path that
 * runs another manifest is never overwritten.
 */
export function runInstall(options: { config?: string; dryRun?: boolean; name?: string; platform?: string }, ctx: CliContext): number {
  const manifestPath = path.resolve(ctx.cwd, manifestFile(options.config, ctx));
  if (!existsSync(manifestPath)) {
    ctx.stderr(`no manifest at ${manifestPath}; create one with \`clawfleet init\`\n`);
    return EXIT.invalid;
  }
  if (options.name !== undefined && !NAME_PATTERN.test(options.name)) {
    ctx.stderr(`invalid --name "${options.name}": use letters, digits, ".", "_" and "-", starting with a letter or digit\n`);
    return EXIT.invalid;
  }
  // A manifest `up` would refuse makes a unit that exits 2 at once; its stop timeouts size the unit's.
  const loaded = loadManifest(manifestPath, loadContext(ctx), manifestFile(options.config, ctx));
  if (!loaded.ok) {
    reportProblems(loaded.problems, ctx);
    return EXIT.invalid;
  }
  const service: ServiceOptions = { path: ctx.env.PATH || undefined, stopTimeoutSec: fleetStopSeconds(loaded.manifest.plan.gateways) };
  const home = ctx.env.HOME || os.homedir();
  const name = options.name ?? fleetName(manifestPath);
  const platform = options.platform ?? process.platform;
  let file: string;
  let text: string;
  let next: string[];
  let upgrade: string;
  if (platform === 'darwin') {
    const label = `ai.clawfleet.${name}`;
    file = path.join(home, 'Library', 'LaunchAgents', `${label}.plist`);
    text = launchdPlist(label, manifestPath, process.execPath, CLI_PATH, path.join(home, 'Library', 'Logs', 'clawfleet'), service);
    next = [
      `launchctl bootstrap gui/$(id -u) ${file}`,
      `launchctl kickstart -k gui/$(id -u)/${label}`,
    ];
    upgrade = `launchctl kill SIGUSR2 gui/$(id -u)/${label}`;
  } else if (platform === 'linux') {
    const unit = `clawfleet-${name}.service`;
    const configHome = ctx.env.XDG_CONFIG_HOME || path.join(home, '.config');
    file = path.join(configHome, 'systemd', 'user', unit);
    text = systemdUnit(manifestPath, process.execPath, CLI_PATH, { ...service, unitName: unit });
    next = [
      'systemctl --user daemon-reload',
      `systemctl --user enable --now ${unit}`,
      'loginctl enable-linger "$USER"   # keep it running after you log out',
    ];
    // --kill-whom=main: by default systemctl kill signals the whole cgroup, and SIGUSR2 restarts every gateway in place.
    upgrade = `systemctl --user kill --kill-whom=main --signal=SIGUSR2 ${unit}`;
  } else {
    ctx.stderr(`clawfleet install supports Linux (systemd) and macOS (launchd), not ${platform}\n`);
    return EXIT.failure;
  }
  // Two manifests with one base name (a/fleet.yaml, b/fleet.yaml) would get one unit: never replace the other's.
  const conflict = overwriteConflict(file, manifestPath);
  if (conflict !== undefined) {
    ctx.stderr(`${conflict}; not replacing it with one for ${manifestPath}: pick another name with --name NAME (e.g. --name ${suggestedName(manifestPath)})\n`);
    return EXIT.failure;
  }
  if (options.dryRun) {
    ctx.stdout(`# ${file}\n${text}`);
    return EXIT.ok;
  }
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  } catch (error) {
    ctx.stderr(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`);
    return EXIT.failure;
  }
  ctx.stdout(`wrote ${file}\nenable it with:\n${next.map((line) => `  ${line}`).join('\n')}\n`
    + `to upgrade clawfleet later without restarting a gateway (the supervisor exits, the new one adopts them):\n  ${upgrade}\n`);
  return EXIT.ok;
}
