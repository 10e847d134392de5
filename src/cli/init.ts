/** `clawfleet init`: a commented starter manifest with a main and a rescue gateway. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CliContext, EXIT } from './context.js';

/** The starter manifest; it validates as written. */
export const STARTER_MANIFEST = `# clawfleet fleet manifest: https://github.com/clawfleet/clawfleet
# Check it with \`clawfleet validate\`, run it with \`clawfleet up\`.
# Edits are applied while the fleet runs: only the gateways you change restart.
version: 1

# Merged under every gateway below.
defaults:
  kind: openclaw            # OpenClaw isolation rules and probes
  command: openclaw         # the real gateway; must be on PATH
  args: [gateway, --port, "{port}", --bind, loopback]
  stop:
    timeout: 30s            # OpenClaw drains before it exits; SIGKILL after this

gateways:
  # Your everyday bot. State in ~/.openclaw-main, config ~/.openclaw-main/openclaw.json.
  main:
    port: 18789
    # envFile: ~/.config/clawfleet/main.env   # secrets for this gateway only
    # limits: { memory: 4GB }                  # graceful restart when the process tree grows past this

  # Stays up when main is broken: started first, stopped last, never restarted together with main.
  # Base ports must be at least 120 apart: each gateway reserves base..base+110 for browser/CDP ports.
  rescue:
    role: rescue
    port: 19789
`;

/** Runs `init`; refuses to overwrite an existing file. */
export function runInit(file: string | undefined, ctx: CliContext): number {
  const target = path.resolve(ctx.cwd, file ?? 'fleet.yaml');
  try {
    writeFileSync(target, STARTER_MANIFEST, { flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    ctx.stderr(code === 'EEXIST' ? `${file ?? 'fleet.yaml'} already exists; not overwriting it\n` : `cannot write ${target}: ${code ?? String(error)}\n`);
    return code === 'EEXIST' ? EXIT.invalid : EXIT.failure;
  }
  ctx.stdout(`wrote ${target}\ncheck it:  clawfleet validate -c ${file ?? 'fleet.yaml'}\nrun it:    clawfleet up -c ${file ?? 'fleet.yaml'}\n`);
  return EXIT.ok;
}
