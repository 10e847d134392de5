/**
 * HTTP probes over kept-alive connections. A probe every 2 s to a thousand gateways is a thousand
 * TCP handshakes and teardowns a second if each probe opens its own connection (and as many sockets
 * in TIME_WAIT); reusing idle connections per gateway port makes a probe a write and a read. A
 * gateway's liveness and readiness probes run in the same instant (probe-schedule.ts), so each port
 * keeps up to MAX_IDLE_PER_PORT of them.
 * A probe on a reused connection that fails before any answer is retried once on a fresh one, since
 * the gateway may have closed the idle connection just as it was reused. A connection is reused for
 * at most MAX_REUSE_MS: a gateway that still answers on an old connection but no longer accepts new
 * ones is caught by the next fresh connect, as a probe without keep-alive would catch it.
 */
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 64 * 1024;
const HEAD_END = '\r\n\r\n';
/** How long one connection may serve probes before the next probe opens a fresh one. */
export const MAX_REUSE_MS = 10_000;

/** When each connection was opened. */
const openedAt = new WeakMap<net.Socket, number>();

/** Probes of one gateway that may be in flight at once: liveness and readiness. */
const MAX_IDLE_PER_PORT = 2;

/** Idle connections by port. */
const idle = new Map<number, net.Socket[]>();

function takeIdle(port: number): net.Socket | undefined {
  const list = idle.get(port);
  if (!list) return undefined;
  let socket = list.pop();
  while (socket?.destroyed) socket = list.pop();
  if (list.length === 0) idle.delete(port);
  return socket;
}

function dropIdle(port: number, socket: net.Socket): void {
  const list = idle.get(port);
  const at = list?.indexOf(socket) ?? -1;
  if (list && at >= 0) {
    list.splice(at, 1);
    if (list.length === 0) idle.delete(port);
  }
}

/** The outcome of one exchange: undefined for success, or a reason. */
export type HttpVerdict = string | undefined;

interface Head {
  readonly status: number;
  readonly length: number | undefined;
  readonly close: boolean;
}

/** Parses what a response head says about the body and the connection. */
function parseHead(head: string): Head | undefined {
  const match = /^HTTP\/1\.([01]) (\d{3})/.exec(head);
  if (!match) return undefined;
  const lower = head.toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  const chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
  const close = match[1] === '0' ? !/\r\nconnection:\s*keep-alive/.test(lower) : /\r\nconnection:\s*close/.test(lower);
  // Only a body of known length lets the connection be reused safely; anything else is read no further.
  return { status: Number(match[2]), length: chunked ? undefined : length ? Number(length[1]) : undefined, close: close || chunked || !length };
}

function release(port: number, socket: net.Socket): void {
  const list = idle.get(port) ?? [];
  if (socket.destroyed || list.length >= MAX_IDLE_PER_PORT || Date.now() - (openedAt.get(socket) ?? 0) >= MAX_REUSE_MS) {
    socket.destroy();
    return;
  }
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.removeAllListeners('error');
  socket.removeAllListeners('close');
  const drop = (): void => {
    dropIdle(port, socket);
    socket.destroy();
  };
  socket.on('data', drop);
  socket.once('end', drop);
  socket.once('error', drop);
  socket.once('close', drop);
  socket.unref();
  list.push(socket);
  idle.set(port, list);
}

/**
 * Sends `GET path` to 127.0.0.1:port and calls `finish` once with the verdict: 2xx and 3xx pass.
 * Returns how to abort (the deadline of the caller).
 */
export function probeHttpKeepAlive(port: number, path: string, finish: (verdict: HttpVerdict) => void): () => void {
  let current: net.Socket | undefined;
  let settled = false;
  const done = (verdict: HttpVerdict): void => {
    if (settled) return;
    settled = true;
    finish(verdict);
  };

  const attempt = (reused: net.Socket | undefined): void => {
    const socket = reused ?? net.connect({ host: LOOPBACK, port });
    if (!reused) openedAt.set(socket, Date.now());
    current = socket;
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.ref();
    socket.setNoDelay(true);
    let head = '';
    let parsed: Head | undefined;
    let bodyBytes = 0;
    let answered = false;
    const request = `GET ${path} HTTP/1.1\r\nHost: ${LOOPBACK}:${port}\r\nConnection: keep-alive\r\nUser-Agent: clawfleet-probe\r\n\r\n`;
    const fail = (reason: string): void => {
      socket.destroy();
      // A reused connection the gateway had just closed: try once more on a fresh one.
      if (reused && !answered && !settled) attempt(undefined);
      else done(reason);
    };
    const complete = (answer: Head): void => {
      if (answer.close || bodyBytes !== answer.length) socket.destroy();
      else release(port, socket);
      current = undefined;
      done(answer.status >= 200 && answer.status <= 399 ? undefined : `HTTP ${answer.status}`);
    };
    socket.on('data', (chunk: Buffer) => {
      answered = true;
      if (parsed === undefined) {
        head += chunk.toString('latin1');
        const end = head.indexOf(HEAD_END);
        if (end < 0) {
          if (head.length > MAX_HEAD_BYTES) fail('answer head too large');
          return;
        }
        const answer = parseHead(head);
        if (!answer) return fail('not an HTTP answer');
        parsed = answer;
        bodyBytes = Buffer.byteLength(head.slice(end + HEAD_END.length), 'latin1');
      } else bodyBytes += chunk.length;
      if (parsed.close) return complete(parsed);
      if (parsed.length !== undefined && bodyBytes >= parsed.length) return complete(parsed);
      if (bodyBytes > MAX_BODY_BYTES) complete({ ...parsed, close: true });
    });
    socket.once('end', () => {
      if (parsed) return complete({ ...parsed, close: true });
      fail('connection closed before an answer');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => fail(describe(error)));
    if (reused) socket.write(request);
    else socket.once('connect', () => socket.write(request));
  };

  attempt(takeIdle(port));
  return () => current?.destroy();
}

function describe(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    default:
      return error.code !== undefined ? `connection failed: ${error.code}` : error.message;
  }
}

/** Closes every idle connection (at shutdown, or in tests). */
export function closeIdleProbeConnections(): void {
  for (const list of idle.values()) for (const socket of list) socket.destroy();
  idle.clear();
}
