/** Everything the supervisor reports, as values: detection emits these, one module turns them into log lines. */
import type { Phase, ProbeKind } from '../supervisor/lifecycle.js';

export type SupervisorEvent =
  | { type: 'supervisor-started'; manifest: string; runtimeDir: string; gateways: number; pid: number }
  | { type: 'supervisor-stopping'; signal: string }
  | { type: 'supervisor-stopped'; durationMs: number; leftovers: number }
  | { type: 'transition'; gateway: string; from: Phase; to: Phase; reason?: string; pid?: number; restarts: number; retryInMs?: number }
  | { type: 'spawned'; gateway: string; pid: number; command: string; cwd: string; log: string }
  | { type: 'spawn-failed'; gateway: string; reason: string }
  | { type: 'exited'; gateway: string; pid: number; code: number | null; signal: string | null; expected: boolean }
  | { type: 'port-busy'; gateway: string; port: number; address?: string | undefined; use: string; holderPid?: number | undefined; holder?: string | undefined; fatal: boolean }
  | { type: 'stop-escalated'; gateway: string; pid: number; signal: string; timeoutMs: number }
  | { type: 'leftovers-killed'; gateway: string; pids: number[] }
  /** Processes of a stopped tree that outlived SIGKILL, or that the supervisor may not signal. */
  | { type: 'stop-incomplete'; gateway: string; survivors: number[]; denied: number[] }
  | { type: 'port-still-busy'; gateway: string; port: number; waitedMs: number }
  | { type: 'probe-failed'; gateway: string; probe: ProbeKind; reason: string }
  | { type: 'log-rotated'; gateway: string; file: string }
  | { type: 'manifest-rejected'; trigger: string; problems: string[] }
  | { type: 'manifest-accepted'; trigger: string; changes: number }
  | { type: 'rollout-step'; gateway: string; change: 'add' | 'remove' | 'restart' | 'update'; why?: string }
  | { type: 'rollout-done'; durationMs: number }
  | { type: 'rollout-stopped'; reason: string; pending: number }
  /** The supervisor's own settings changed in an edit; they apply when the supervisor restarts. */
  | { type: 'supervisor-settings-pending'; keys: string[] }
  /** A step failed, but a newer edit arrived meanwhile: the rollout plans again against it. */
  | { type: 'rollout-step-failed'; reason: string }
  | { type: 'memory-limit'; gateway: string; memoryBytes: number; limitBytes: number; samples: number }
  | { type: 'planned-restart'; gateway: string; schedule: string }
  | { type: 'restart-deferred'; gateway: string; why: string; reason: string }
  | { type: 'hook-failed'; gateway: string; to: string; detail: string }
  | { type: 'metrics-listening'; address: string }
  | { type: 'adopted'; gateway: string; pid: number; uptimeMs: number }
  | { type: 'orphan-stopped'; gateway: string; pid: number; why: string }
  | { type: 'internal-error'; where: string; message: string };

/** Where events go: the supervisor and its runners only ever call this. */
export type EventSink = (event: SupervisorEvent) => void;
