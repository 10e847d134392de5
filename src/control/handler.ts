/** Turns control requests into supervisor operations; the only place that knows both. */
import type { Reloader } from '../supervisor/reloader.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { ControlRequest, ControlResponse } from './protocol.js';
import { isoTime } from '../util/iso-time.js';

/** What the handler acts on. */
export interface ControlTarget {
  readonly supervisor: Supervisor;
  readonly reloader: Reloader;
  readonly startedAt: Date;
}

/** Answers one request. */
export async function handleControl(req: ControlRequest, target: ControlTarget): Promise<ControlResponse> {
  const { supervisor } = target;
  switch (req.cmd) {
    case 'ping':
      return { ok: true, pong: { pid: process.pid, manifest: supervisor.plan.manifestPath } };
    case 'status':
      return {
        ok: true,
        status: {
          supervisor: { pid: process.pid, startedAt: isoTime(target.startedAt.getTime()), rssBytes: process.memoryUsage.rss() },
          manifest: supervisor.manifestStatus(),
          gateways: supervisor.status(),
        },
      };
    case 'reload':
      return { ok: true, reload: await target.reloader.reload('clawfleet reload') };
    case 'start':
    case 'stop':
    case 'restart': {
      const resolved = supervisor.resolveNames(req.names ?? [], Boolean(req.all));
      if (!resolved.ok) return { ok: false, error: resolved.error, code: 2 };
      if (req.cmd === 'start') return { ok: true, outcomes: await supervisor.operatorStart(resolved.runners) };
      if (req.cmd === 'restart') return { ok: true, outcomes: await supervisor.operatorRestart(resolved.runners, 'restarted by the operator') };
      const stopped = await supervisor.operatorStop(resolved.runners, Boolean(req.force));
      if ('refused' in stopped) return { ok: false, error: stopped.refused, code: 1 };
      return { ok: true, outcomes: stopped.outcomes };
    }
    default:
      return { ok: false, error: `unknown request ${JSON.stringify((req as { cmd?: unknown }).cmd)}`, code: 2 };
  }
}
