/** The control channel's messages: one JSON request per connection, one JSON answer. */
import type { GatewayStatus, ManifestStatus } from '../supervisor/supervisor.js';

export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'start'; names: string[]; all: boolean }
  | { cmd: 'stop'; names: string[]; all: boolean; force: boolean }
  | { cmd: 'restart'; names: string[]; all: boolean }
  | { cmd: 'reload' }
  | { cmd: 'ping' };

/** `status --json` (SPEC §5). */
export interface StatusReport {
  supervisor: { pid: number; startedAt: string; rssBytes: number };
  manifest: ManifestStatus;
  gateways: GatewayStatus[];
}

/** One line per gateway an operator command touched. */
export interface ActionOutcome {
  name: string;
  ok: boolean;
  message: string;
}

export type ControlResponse =
  | { ok: true; status: StatusReport }
  | { ok: true; outcomes: ActionOutcome[] }
  | { ok: true; reload: { accepted: boolean; problems: string[]; changes: number } }
  | { ok: true; pong: { pid: number; manifest: string } }
  | { ok: false; error: string; code: number };

/** The socket's file name inside the runtime dir. */
export const SOCKET_NAME = 'control.sock';
