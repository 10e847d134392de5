/**
 * The manifest's shape, as zod schemas of what a user writes (strings for durations and sizes).
 * Meaning (defaults, derived paths, parsed units) is given later by the planner, so this file is also
 * the source of the JSON Schema editors use.
 */
import cron from 'node-cron';
import { z } from 'zod';
import { DURATION_PATTERN, SIZE_PATTERN } from '../util/units.js';

/** Profile and gateway names: OpenClaw's profile rule, so a name can double as a profile. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

const duration = z
  .string({ error: 'expected a duration such as "500ms", "10s" or "5m"' })
  .regex(new RegExp(DURATION_PATTERN), { error: 'expected a duration such as "500ms", "10s" or "5m"' });

const size = z
  .string({ error: 'expected a size such as "512MB" or "1.5GB"' })
  .regex(new RegExp(SIZE_PATTERN), { error: 'expected a size such as "512MB" or "1.5GB"' });

const port = z
  .number({ error: 'expected a port number (1-65535)' })
  .int({ error: 'expected a whole port number (1-65535)' })
  .min(1, { error: 'a port must be between 1 and 65535' })
  .max(65535, { error: 'a port must be between 1 and 65535' });

const envValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean value',
});

const signal = z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGKILL', 'SIGUSR2'], {
  error: 'expected one of SIGTERM, SIGINT, SIGQUIT, SIGKILL, SIGUSR2 (SIGHUP and SIGUSR1 would kill or break an OpenClaw gateway)',
});

const probe = z
  .strictObject({
    http: z.string().regex(/^\/[\x21-\x7e]*$/, { error: 'an http probe path starts with "/" and has no spaces (escape them as %20)' }).optional(),
    tcp: z.literal(true, { error: 'use "tcp: true" to probe the base port' }).optional(),
    exec: z.array(z.string()).min(1, { error: 'exec needs at least the program to run' }).optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    failureThreshold: z.number().int().min(1).optional(),
    successThreshold: z.number().int().min(1).optional(),
  })
  .refine((p) => [p.http, p.tcp, p.exec].filter((v) => v !== undefined).length <= 1, {
    error: 'a probe has one of http, tcp or exec, not several',
  });

const probeOrOff = z.union([z.literal(false), probe], { error: 'expected a probe object, or false to turn it off' });

const browserProfile = z.strictObject({
  cdpPort: port.optional(),
  cdpUrl: z.url({ error: 'expected a URL such as http://127.0.0.1:18800' }).optional(),
});

/** Settings every gateway has; `defaults` holds the same keys. All optional here: requiredness is checked after merging. */
export const gatewaySettingsSchema = z.strictObject({
  kind: z.enum(['openclaw', 'command'], { error: 'expected "openclaw" or "command"' }).optional(),
  command: z.string().min(1).optional(),
  args: z.array(z.string({ error: 'arguments are strings' })).optional(),
  port: port.optional(),
  role: z.enum(['main', 'rescue'], { error: 'expected "main" or "rescue"' }).optional(),
  profile: z
    .string()
    .regex(new RegExp(NAME_PATTERN), { error: 'a profile is letters, digits, "-" and "_", starting with a letter or digit, at most 64 long' })
    .optional(),
  stateDir: z.string().min(1).optional(),
  configPath: z.string().min(1).optional(),
  workspace: z.string().min(1).optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(z.string(), envValue).optional(),
  envFile: z.string().min(1).optional(),
  inheritEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a variable name' })).optional(),
  health: z
    .strictObject({
      startPeriod: duration.optional(),
      startup: probeOrOff.optional(),
      liveness: probeOrOff.optional(),
      readiness: probeOrOff.optional(),
    })
    .optional(),
  restart: z
    .strictObject({
      policy: z.enum(['always', 'on-failure', 'never'], { error: 'expected "always", "on-failure" or "never"' }).optional(),
      backoff: z
        .strictObject({
          initial: duration.optional(),
          max: duration.optional(),
          factor: z.number().min(1, { error: 'the backoff factor is at least 1' }).optional(),
          jitter: z.number().min(0).max(1, { error: 'jitter is a fraction between 0 and 1' }).optional(),
        })
        .optional(),
      resetAfter: duration.optional(),
    })
    .optional(),
  stop: z.strictObject({ signal: signal.optional(), timeout: duration.optional() }).optional(),
  limits: z.strictObject({ memory: size.optional() }).optional(),
  schedule: z
    .strictObject({
      restart: z
        .string()
        .refine((expression) => cron.validate(expression), { error: 'expected a cron expression such as "0 4 * * *" (minute hour day month weekday)' })
        .optional(),
    })
    .optional(),
  browser: z
    .strictObject({
      controlPort: port.optional(),
      cdpUrl: z.url({ error: 'expected a URL such as http://127.0.0.1:18800' }).optional(),
      profiles: z.record(z.string(), browserProfile).optional(),
    })
    .optional(),
  canvasHost: z.strictObject({ port: port.optional() }).optional(),
  enabled: z.boolean().optional(),
});

const supervisorSchema = z.strictObject({
  runtimeDir: z.string().min(1).optional(),
  logs: z
    .strictObject({
      dir: z.string().min(1).optional(),
      maxSize: size.optional(),
      maxFiles: z.number().int().min(1).max(1000).optional(),
    })
    .optional(),
  metrics: z.string().min(1).optional(),
  sampleInterval: duration.optional(),
  hooks: z.strictObject({ onStateChange: z.array(z.string()).min(1).optional() }).optional(),
});

/** The whole manifest as written. */
export const manifestSchema = z.strictObject({
  version: z.literal(1, { error: 'expected version: 1' }),
  defaults: gatewaySettingsSchema.optional(),
  gateways: z.record(
    z.string().regex(new RegExp(NAME_PATTERN), {
      error: 'a gateway name is letters, digits, "-" and "_", starting with a letter or digit, at most 64 long',
    }),
    gatewaySettingsSchema.nullable(),
  ),
  supervisor: supervisorSchema.optional(),
});

export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;
export type ProbeSettings = z.infer<typeof probe>;
export type SupervisorSettings = z.infer<typeof supervisorSchema>;
export type RawManifest = z.infer<typeof manifestSchema>;

/** The JSON Schema of the manifest, generated from the zod schema so the two cannot drift. */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://clawfleet.dev/fleet.schema.json',
    title: 'clawfleet fleet manifest',
  };
}
