/**
 * The one place that turns supervisor events into log lines: pino JSON (pretty on a terminal), one
 * child logger per gateway with {gateway, pid}, secrets redacted.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { EventSink, SupervisorEvent } from './events.js';

const REDACT = ['env', '*.env', 'startEnv', '*.startEnv', '*.token', '*.password', '*.secret', '*.apiKey'];

/** A pino logger writing to stdout; pino-pretty is loaded only when a person is watching. */
export function createLogger(options: { pretty: boolean; level?: string }): Logger {
  // pino is CommonJS; loading it through require keeps the ESM loader's extra cost out of the supervisor.
  const require = createRequire(import.meta.url);
  const pino = require('pino') as typeof import('pino').default;
  const base = { level: options.level ?? 'info', redact: { paths: REDACT, censor: '***' }, base: { pid: process.pid } };
  if (options.pretty) {
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pino(base, pretty({ sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  const destination = pino.destination({ dest: 1, sync: false, minLength: 0 });
  // A closed stdout (the terminal went away, a pipe reader died) must not take the supervisor down.
  destination.on('error', () => undefined);
  return pino(base, destination);
}

/** An event sink that logs each event at its level, through a child logger per gateway. */
export function loggingSink(logger: Logger): EventSink {
  const children = new Map<string, Logger>();
  const forGateway = (name: string): Logger => {
    let child = children.get(name);
    if (!child) {
      child = logger.child({ gateway: name });
      children.set(name, child);
    }
    return child;
  };
  return (event: SupervisorEvent) => {
    const { type, ...fields } = event;
    switch (event.type) {
      case 'supervisor-started':
        logger.info({ event: type, ...fields }, `supervising ${event.gateways} gateways from ${event.manifest}`);
        return;
      case 'supervisor-stopping':
        logger.info({ event: type, ...fields }, `${event.signal}: stopping the fleet (rescue last)`);
        return;
      case 'supervisor-stopped':
        logger.info({ event: type, ...fields }, `fleet stopped in ${Math.round(event.durationMs)} ms`);
        return;
      case 'transition': {
        const level = event.to === 'crashloop' || event.to === 'conflict' || event.to === 'unhealthy' ? 'warn' : 'info';
        const retry = event.retryInMs !== undefined ? ` (retry in ${event.retryInMs} ms)` : '';
        forGateway(event.gateway)[level]({ event: type, from: event.from, to: event.to, pid: event.pid, restarts: event.restarts, reason: event.reason }, `${event.from} -> ${event.to}${event.reason ? `: ${event.reason}` : ''}${retry}`);
        return;
      }
      case 'spawned':
        forGateway(event.gateway).info({ event: type, pid: event.pid, command: event.command, cwd: event.cwd, log: event.log }, `started pid ${event.pid}`);
        return;
      case 'spawn-failed':
        forGateway(event.gateway).error({ event: type, reason: event.reason }, `cannot start: ${event.reason}`);
        return;
      case 'exited':
        forGateway(event.gateway)[event.expected ? 'info' : 'warn'](
          { event: type, pid: event.pid, code: event.code, signal: event.signal },
          `pid ${event.pid} ${event.signal ? `killed by ${event.signal}` : `exited with code ${event.code}`}`,
        );
        return;
      case 'port-busy': {
        const holder = event.holderPid !== undefined ? `pid ${event.holderPid} (${event.holder ?? '?'})` : 'a process this user cannot see';
        forGateway(event.gateway)[event.fatal ? 'error' : 'warn'](
          { event: type, port: event.port, address: event.address, use: event.use, holderPid: event.holderPid, holder: event.holder },
          `port ${event.port} (${event.use}) is held${event.address ? ` on ${event.address}` : ''} by ${holder}`,
        );
        return;
      }
      case 'stop-incomplete':
        forGateway(event.gateway).error(
          { event: type, survivors: event.survivors, denied: event.denied },
          `its tree is not gone: ${event.survivors.length > 0 ? `pid ${event.survivors.join(', ')} survived SIGKILL` : ''}${event.survivors.length > 0 && event.denied.length > 0 ? '; ' : ''}${event.denied.length > 0 ? `not permitted to signal ${event.denied.join(', ')}` : ''}; its ports may stay busy`,
        );
        return;
      case 'stop-escalated':
        forGateway(event.gateway).warn({ event: type, pid: event.pid }, `pid ${event.pid} ignored ${event.signal} for ${event.timeoutMs} ms: SIGKILL to its process group`);
        return;
      case 'leftovers-killed':
        forGateway(event.gateway).warn({ event: type, pids: event.pids }, `killed ${event.pids.length} leftover process(es) of the old tree: ${event.pids.join(' ')}`);
        return;
      case 'port-still-busy':
        forGateway(event.gateway).warn({ event: type, port: event.port }, `port ${event.port} still busy ${event.waitedMs} ms after the old tree was gone`);
        return;
      case 'probe-failed':
        forGateway(event.gateway).debug({ event: type, probe: event.probe, reason: event.reason }, `${event.probe} probe failed: ${event.reason}`);
        return;
      case 'log-rotated':
        forGateway(event.gateway).debug({ event: type, file: event.file }, 'rotated its log');
        return;
      case 'manifest-rejected':
        logger.error({ event: type, trigger: event.trigger, problems: event.problems }, `manifest edit rejected (${event.trigger}); the fleet keeps running on the last good manifest:\n  ${event.problems.join('\n  ')}`);
        return;
      case 'manifest-accepted':
        logger.info({ event: type, trigger: event.trigger, changes: event.changes }, `manifest accepted (${event.trigger}): ${event.changes} change${event.changes === 1 ? '' : 's'} to roll out`);
        return;
      case 'rollout-step':
        forGateway(event.gateway).info({ event: type, change: event.change, why: event.why }, `rollout: ${event.change}${event.why ? ` (${event.why})` : ''}`);
        return;
      case 'rollout-done':
        logger.info({ event: type, durationMs: event.durationMs }, `rollout done in ${Math.round(event.durationMs)} ms`);
        return;
      case 'supervisor-settings-pending':
        logger.warn(
          { event: type, keys: event.keys },
          `${event.keys.join(', ')} changed: the supervisor's own settings apply when it restarts (SIGUSR2 hands the fleet over to the next \`clawfleet up\` without touching a gateway)`,
        );
        return;
      case 'rollout-step-failed':
        logger.warn({ event: type, reason: event.reason }, `rollout step failed (${event.reason}); a newer edit arrived, planning again`);
        return;
      case 'rollout-stopped':
        logger.error({ event: type, reason: event.reason, pending: event.pending }, `rollout stopped with ${event.pending} change(s) not applied: ${event.reason}`);
        return;
      case 'memory-limit':
        forGateway(event.gateway).warn({ event: type, memoryBytes: event.memoryBytes, limitBytes: event.limitBytes, samples: event.samples }, `process tree uses ${Math.round(event.memoryBytes / 1048576)} MB, over its limit of ${Math.round(event.limitBytes / 1048576)} MB for ${event.samples} samples: graceful restart`);
        return;
      case 'planned-restart':
        forGateway(event.gateway).info({ event: type, schedule: event.schedule }, `planned restart (schedule ${event.schedule})`);
        return;
      case 'restart-deferred':
        forGateway(event.gateway).warn({ event: type, why: event.why, reason: event.reason }, `${event.why} deferred: ${event.reason}`);
        return;
      case 'hook-failed':
        forGateway(event.gateway).warn({ event: type, to: event.to, detail: event.detail }, `state hook failed: ${event.detail}`);
        return;
      case 'metrics-listening':
        logger.info({ event: type, address: event.address }, `metrics on http://${event.address}/metrics`);
        return;
      case 'adopted':
        forGateway(event.gateway).info({ event: type, pid: event.pid, uptimeMs: event.uptimeMs }, `adopted pid ${event.pid} from the previous supervisor (up ${Math.round(event.uptimeMs / 1000)}s)`);
        return;
      case 'orphan-stopped':
        forGateway(event.gateway).info({ event: type, pid: event.pid, why: event.why }, `stopped pid ${event.pid} left by the previous supervisor: ${event.why}`);
        return;
      case 'internal-error':
        logger.error({ event: type, where: event.where }, `internal error in ${event.where}: ${event.message}`);
        return;
    }
  };
}
