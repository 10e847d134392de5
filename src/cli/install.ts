/**
 * `clawfleet install`: a systemd user unit (Linux) or a launchd agent (macOS) that runs `clawfleet up`
 * for one manifest, the way `openclaw gateway install` does for one gateway. The unit lets the
 * supervisor be restarted without the service manager killing the gateways, which the next
 * supervisor adopts.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliContext, EXIT, manifestFile } from './context.js';

const CLI_PATH = fileURLToPath(new URL('../cli.js', import.meta.url));

/** `fleet` from `fleet.yaml`: the suffix of the unit's name, as OpenClaw suffixes units with the profile. */
export function fleetName(manifestPath: string): string {
  return path.basename(manifestPath).replace(/\.(ya?ml|json)$/i, '').replace(/[^A-Za-z0-9_.-]/g, '-') || 'fleet';
}

/** The systemd user unit for a manifest. */
export function systemdUnit(manifestPath: string, nodePath: string, cliPath: string): string {
  const quote = (p: string): string => (/[\s"\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p);
  return `[Unit]
Description=clawfleet: OpenClaw gateways of ${manifestPath}
Documentation=https://github.com/clawfleet/clawfleet
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=${quote(path.dirname(manifestPath))}
ExecStart=${quote(nodePath)} ${quote(cliPath)} up -c ${quote(manifestPath)}
ExecReload=/bin/kill -HUP $MAINPID
# The supervisor is restarted whenever it dies (crash, OOM kill, SIGUSR2 for an upgrade)...
Restart=always
RestartSec=1
# ...and only it is signalled when it stops: the gateways run in sessions of their own, keep serving
# while it is gone, and are adopted by the next supervisor. A plain stop (SIGTERM) still stops them,
# mains first and rescue last, before the supervisor exits.
KillMode=process
KillSignal=SIGTERM
TimeoutStopSec=120
# systemd's markers (INVOCATION_ID, JOURNAL_STREAM, ...) would make OpenClaw turn its self-restarts into
# plain exits: clawfleet never passes them to a gateway's environment.

[Install]
WantedBy=default.target
`;
}

/** The launchd agent for a manifest. */
export function launchdPlist(label: string, manifestPath: string, nodePath: string, cliPath: string, logDir: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
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
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <!-- Gateways live in sessions of their own and are adopted by the next supervisor: never kill them with it. -->
  <key>AbandonProcessGroup</key><true/>
  <key>ExitTimeOut</key><integer>120</integer>
  <key>StandardOutPath</key><string>${esc(path.join(logDir, 'supervisor.log'))}</string>
  <key>StandardErrorPath</key><string>${esc(path.join(logDir, 'supervisor.log'))}</string>
</dict>
</plist>
`;
}

/** Runs `install`; `--dry-run` prints the file instead of writing it. */
export function runInstall(options: { config?: string; dryRun?: boolean; platform?: string }, ctx: CliContext): number {
  const manifestPath = path.resolve(ctx.cwd, manifestFile(options.config, ctx));
  if (!existsSync(manifestPath)) {
    ctx.stderr(`no manifest at ${manifestPath}; create one with \`clawfleet init\`\n`);
    return EXIT.invalid;
  }
  const home = ctx.env.HOME || os.homedir();
  const name = fleetName(manifestPath);
  const platform = options.platform ?? process.platform;
  let file: string;
  let text: string;
  let next: string[];
  if (platform === 'darwin') {
    const label = `ai.clawfleet.${name}`;
    file = path.join(home, 'Library', 'LaunchAgents', `${label}.plist`);
    text = launchdPlist(label, manifestPath, process.execPath, CLI_PATH, path.join(home, 'Library', 'Logs', 'clawfleet'));
    next = [`launchctl bootstrap gui/$(id -u) ${file}`, `launchctl kickstart -k gui/$(id -u)/${label}`];
  } else if (platform === 'linux') {
    const unit = `clawfleet-${name}.service`;
    const configHome = ctx.env.XDG_CONFIG_HOME || path.join(home, '.config');
    file = path.join(configHome, 'systemd', 'user', unit);
    text = systemdUnit(manifestPath, process.execPath, CLI_PATH);
    next = ['systemctl --user daemon-reload', `systemctl --user enable --now ${unit}`, 'loginctl enable-linger "$USER"   # keep it running after you log out'];
  } else {
    ctx.stderr(`clawfleet install supports Linux (systemd) and macOS (launchd), not ${platform}\n`);
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
  ctx.stdout(`wrote ${file}\nenable it with:\n${next.map((line) => `  ${line}`).join('\n')}\n`);
  return EXIT.ok;
}
