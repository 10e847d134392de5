/** A fault requested through `POST /__fault/<name>`. */
export type FaultCommand =
  | { kind: 'crash' }
  | { kind: 'exit'; code: number }
  | { kind: 'hang' }
  | { kind: 'grow'; mb: number }
  | { kind: 'unready' }
  | { kind: 'ready' }
  | { kind: 'spawn-grandchild' };

/** A parsed fault, or why the request is refused. */
export type FaultRequest = { ok: true; fault: FaultCommand } | { ok: false; status: 400 | 404; error: string };

export const FAULT_PATH_PREFIX = '/__fault/';
// One request may not take more than this, so a typo cannot take the host down.
export const MAX_GROW_MB = 4096;

// Reads `<name>?<query>` into a fault, validating its parameters.
export function parseFault(name: string, query: URLSearchParams): FaultRequest {
  switch (name) {
    case 'crash':
    case 'hang':
    case 'unready':
    case 'ready':
    case 'spawn-grandchild':
      return { ok: true, fault: { kind: name } };
    case 'exit':
      return parseExit(query.get('code'));
    case 'grow':
      return parseGrow(query.get('mb'));
    default:
      return { ok: false, status: 404, error: `unknown fault: ${name}` };
  }
}

// Faults are for whoever runs the host, never for the network: loopback peers only.
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}

// Keeps the process alive but deaf: the event loop never runs again, without burning CPU.
export function blockEventLoopForever(): never {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}

function parseExit(code: string | null): FaultRequest {
  const value = code !== null && /^\d+$/.test(code) ? Number(code) : NaN;
  if (!(value >= 0 && value <= 255)) return { ok: false, status: 400, error: 'exit needs ?code=N with N from 0 to 255' };
  return { ok: true, fault: { kind: 'exit', code: value } };
}

function parseGrow(mb: string | null): FaultRequest {
  const value = mb !== null && /^\d+(\.\d+)?$/.test(mb) ? Number(mb) : NaN;
  if (!(value > 0 && value <= MAX_GROW_MB)) return { ok: false, status: 400, error: `grow needs ?mb=N with 0 < N <= ${MAX_GROW_MB}` };
  return { ok: true, fault: { kind: 'grow', mb: value } };
}
