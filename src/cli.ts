#!/usr/bin/env node
/**
 * The composition root: the only module that reads argv, the environment and process facts. Each
 * command's module is imported when that command runs, so a light command (a demo gateway, a status
 * query) never pays for the manifest parser or the logger.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { Command as CommandType } from 'commander';
import type { CliContext } from './cli/context.js';

// `up` runs for months doing a few hundred probes a second at most: V8's optimizing compilers buy
// nothing measurable there, and touching their code costs every supervisor ~4 MB of RSS (see also
// LEAN_V8_MAX_GATEWAYS in cli/up.ts). This must run before any function gets hot enough to be
// optimized, hence here and not in the command's action.
if (process.argv[2] === 'up') setFlagsFromString('--no-opt --no-maglev');

const ctx: CliContext = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: Boolean(process.stdout.isTTY),
};

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function finish(code: number): void {
  process.exitCode = code;
}

function buildProgram(Command: typeof CommandType): CommandType {
  const program = new Command('clawfleet')
    .description('Keeps a fleet of OpenClaw gateways alive: isolated, probed, restarted, and the rescue bot above all.')
    .version(packageVersion())
    .showHelpAfterError('(run `clawfleet --help` for usage)')
    .exitOverride();

  program
    .command('up')
    .description('run the fleet in the foreground until SIGTERM/SIGINT, then stop it (rescue last) and exit 0')
    .option('-c, --config <file>', 'manifest (default: $CLAWFLEET_CONFIG or config/fleet.yaml)')
    .action(async (options: { config?: string }) => {
      const { runUp } = await import('./cli/up.js');
      // Gateways are detached and unref'd: once the fleet is stopped nothing of theirs keeps the process.
      process.exit(await runUp(options, ctx));
    });

  const configOption = ['-c, --config <file>', 'manifest (default: $CLAWFLEET_CONFIG or config/fleet.yaml)'] as const;

  program
    .command('status')
    .description('ask the running supervisor: one row per gateway')
    .option(...configOption)
    .option('--json', 'print the status object')
    .action(async (options: { config?: string; json?: boolean }) => {
      const { runStatus } = await import('./cli/control.js');
      finish(await runStatus(options, ctx));
    });

  for (const [name, what] of [
    ['start', 'start gateways (lifts a `stop`)'],
    ['stop', 'stop gateways and keep them stopped (across edits and supervisor restarts) until `start`'],
    ['restart', 'restart gateways gracefully, one at a time, waiting for readiness, rescue last'],
  ] as const) {
    const command = program
      .command(`${name} [names...]`)
      .description(what)
      .option(...configOption)
      .option('--all', 'every gateway');
    if (name === 'stop') command.option('--force', 'stop even the last rescue gateway that is up');
    command.action(async (names: string[], options: { config?: string; all?: boolean; force?: boolean }) => {
      const { runAction } = await import('./cli/control.js');
      finish(await runAction(name, names, options, ctx));
    });
  }

  program
    .command('reload')
    .description('re-read the manifest now (SIGHUP does the same)')
    .option(...configOption)
    .action(async (options: { config?: string }) => {
      const { runReload } = await import('./cli/control.js');
      finish(await runReload(options, ctx));
    });

  program
    .command('logs <name>')
    .description("a gateway's captured stdout and stderr, across rotations")
    .option(...configOption)
    .option('-n, --lines <n>', 'how many lines from the end', '50')
    .option('-f, --follow', 'keep printing new lines')
    .action(async (name: string, options: { config?: string; lines?: string; follow?: boolean }) => {
      const { runLogs } = await import('./cli/logs.js');
      finish(await runLogs(name, options, ctx));
    });

  program
    .command('export <target>')
    .description('turn the manifest into systemd units, a compose file or Kubernetes objects (target: systemd | compose | kubernetes)')
    .option(...configOption)
    .option('-o, --output <dir>', 'write one file per unit or gateway into this directory instead of printing')
    .action(async (target: string, options: { config?: string; output?: string }) => {
      const { runExport } = await import('./cli/export.js');
      finish(await runExport(target, options, ctx));
    });

  program
    .command('install')
    .description('write a systemd user unit (Linux) or launchd agent (macOS) that runs `clawfleet up` for this manifest')
    .option(...configOption)
    .option('--dry-run', 'print the file instead of writing it')
    .option('--name <name>', "the unit's fleet suffix, instead of the manifest's base name")
    .action(async (options: { config?: string; dryRun?: boolean; name?: string }) => {
      const { runInstall } = await import('./cli/install.js');
      finish(runInstall(options, ctx));
    });

  program
    .command('__plan', { hidden: true })
    .description('internal: load the manifest named on stdin and print the plan as JSON, for the supervisor')
    .action(async () => {
      const [{ servePlanRequest }, { loadContext }] = await Promise.all([import('./manifest/load-isolated.js'), import('./cli/context.js')]);
      await servePlanRequest(loadContext(ctx), process.stdin, ctx.stdout);
      finish(0);
    });

  program
    .command('validate')
    .description('check a manifest and print the resolved plan of every gateway')
    .option('-c, --config <file>', 'manifest (default: $CLAWFLEET_CONFIG or config/fleet.yaml)')
    .option('--json', 'print the plan as JSON, with each start environment (secrets masked)')
    .action(async (options: { config?: string; json?: boolean }) => {
      const { runValidate } = await import('./cli/validate.js');
      finish(runValidate(options, ctx));
    });

  program
    .command('ports')
    .description("the fleet's port map, and which reserved ports something on this host already listens on")
    .option('-c, --config <file>', 'manifest (default: $CLAWFLEET_CONFIG or config/fleet.yaml)')
    .option('--json', 'print as JSON')
    .action(async (options: { config?: string; json?: boolean }) => {
      const { runPorts } = await import('./cli/ports.js');
      finish(runPorts(options, ctx));
    });

  program
    .command('schema')
    .description("print the manifest's JSON Schema (for editor completion)")
    .action(async () => {
      const { manifestJsonSchema } = await import('./manifest/schema.js');
      ctx.stdout(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
      finish(0);
    });

  program
    .command('init [file]')
    .description('write a starter manifest with a main and a rescue gateway (default: fleet.yaml)')
    .action(async (file: string | undefined) => {
      const { runInit } = await import('./cli/init.js');
      finish(runInit(file, ctx));
    });

  program
    .command('demo-gateway')
    .description('a light stand-in for an OpenClaw gateway, for demos and tests')
    .allowUnknownOption(true)
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { runDemoGatewayCommand } = await import('./cli/demo-gateway.js');
      // The demo gateway decides its own exit code, also for faults it was asked to inject.
      process.exit(await runDemoGatewayCommand(args, ctx));
    });

  return program;
}

/**
 * `up` is the long-running command: it skips the CLI library (whose memory would stay resident for
 * the supervisor's whole life) and reads its one option here. Anything unusual goes through commander.
 */
function upOptions(argv: readonly string[]): { config?: string } | undefined {
  if (argv[0] !== 'up') return undefined;
  const rest = argv.slice(1);
  if (rest.length === 0) return {};
  if (rest.length === 2 && (rest[0] === '-c' || rest[0] === '--config') && !rest[1]!.startsWith('-')) return { config: rest[1] };
  const inline = rest.length === 1 ? /^--config=(.+)$/.exec(rest[0]!) : null;
  return inline ? { config: inline[1] } : undefined;
}

async function main(): Promise<void> {
  const up = upOptions(process.argv.slice(2));
  if (up) {
    const { runUp } = await import('./cli/up.js');
    process.exit(await runUp(up, ctx));
  }
  const { Command, CommanderError } = await import('commander');
  const program = buildProgram(Command);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`clawfleet: ${message}\n`);
    if (process.env.CLAWFLEET_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    process.exitCode = 1;
  }
}

void main();
