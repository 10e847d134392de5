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
 *
 * Each connection has its listeners attached once and reads into one shared buffer (`onread`), and
 * each request's bytes are built once: a probe is the supervisor's most frequent piece of work.
 */
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const MAX_HEAD_BYTES = 16 * 1024;
const MAX_BODY_BYTES = 64 * 1024;
const HEAD_END = '\r\n\r\n';
/**
 * How long one connection may serve probes before the next probe opens a fresh one. Each renewal is a
 * connect and a close (at 1 000 gateways, 10 s cost 15 % of the supervisor's probing CPU); 30 s still
 * checks the listener itself twice a minute.
 */
export const MAX_REUSE_MS = 30_000;
/** Probes of one gateway that may be in flight at once: liveness and readiness. */
const MAX_IDLE_PER_PORT = 2;
/** Request bytes kept for reuse; a fleet has a few paths per gateway. */
const MAX_CACHED_REQUESTS = 10_000;

/** The outcome of one exchange: undefined for success, or a reason. */
export type HttpVerdict = string | undefined;

interface Head {
  readonly status: number;
  readonly length: number | undefined;
  readonly close: boolean;
}

/** What a connection hands the probe that currently uses it. */
interface Exchange {
  data(bytes: Buffer, length: number): void;
  end(): void;
  error(error: NodeJS.ErrnoException): void;
}

// Every read of every probe connection lands here; the exchange copies what it needs at once.
const READ_BUFFER = Buffer.allocUnsafe(16 * 1024);

/** A connection to a gateway port, with its listeners attached once for its whole life. */
class Connection {
  readonly openedAt = Date.now();
  readonly socket: net.Socket;
  exchange: Exchange | undefined;

  constructor(readonly port: number) {
    this.socket = net.connect({
      host: LOOPBACK,
      port,
      onread: {
        buffer: READ_BUFFER,
        callback: (length: number, buffer: Uint8Array): boolean => {
          if (this.exchange) this.exchange.data(buffer as Buffer, length);
          else this.drop(); // an idle connection must not speak
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on('end', () => (this.exchange ? this.exchange.end() : this.drop()));
    this.socket.on('error', (error: NodeJS.ErrnoException) => (this.exchange ? this.exchange.error(error) : this.drop()));
    this.socket.on('close', () => {
      this.exchange?.end();
      this.drop();
    });
  }

  /** Leaves the idle pool for good. */
  drop(): void {
    const list = idle.get(this.port);
    const at = list?.indexOf(this) ?? -1;
    if (list && at >= 0) {
      list.splice(at, 1);
      if (list.length === 0) idle.delete(this.port);
    }
    this.exchange = undefined;
    this.socket.destroy();
  }
}

/** Idle connections by port. */
const idle = new Map<number, Connection[]>();
const requests = new Map<number, Map<string, Buffer>>();
let cachedRequests = 0;

function requestBytes(port: number, path: string): Buffer {
  let byPath = requests.get(port);
  if (!byPath) requests.set(port, (byPath = new Map()));
  let bytes = byPath.get(path);
  if (!bytes) {
    if (cachedRequests >= MAX_CACHED_REQUESTS) {
      requests.clear();
      cachedRequests = 0;
      requests.set(port, (byPath = new Map()));
    }
    bytes = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${LOOPBACK}:${port}\r\nConnection: keep-alive\r\nUser-Agent: clawfleet-probe\r\n\r\n`, 'latin1');
    byPath.set(path, bytes);
    cachedRequests += 1;
  }
  return bytes;
}

function takeIdle(port: number): Connection | undefined {
  const list = idle.get(port);
  if (!list) return undefined;
  let connection = list.pop();
  while (connection?.socket.destroyed) connection = list.pop();
  if (list.length === 0) idle.delete(port);
  return connection;
}

function release(connection: Connection): void {
  connection.exchange = undefined;
  const list = idle.get(connection.port) ?? [];
  if (connection.socket.destroyed || list.length >= MAX_IDLE_PER_PORT || Date.now() - connection.openedAt >= MAX_REUSE_MS) {
    connection.socket.destroy();
    return;
  }
  connection.socket.unref();
  list.push(connection);
  idle.set(connection.port, list);
}

/** Parses what a response head says about the body and the connection. */
function parseHead(head: string): Head | undefined {
  const match = /^HTTP\/1\.([01]) (\d{3})/.exec(head);
  if (!match) return undefined;
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
  const close = match[1] === '0' ? !/\r\nconnection:[ \t]*keep-alive/i.test(head) : /\r\nconnection:[ \t]*close/i.test(head);
  // Only a body of known length lets the connection be reused safely; anything else is read no further.
  return { status: Number(match[2]), length: chunked ? undefined : length ? Number(length[1]) : undefined, close: close || chunked || !length };
}

/**
 * Sends `GET path` to 127.0.0.1:port and calls `finish` once with the verdict: 2xx and 3xx pass.
 * Returns how to abort (the deadline of the caller).
 */
export function probeHttpKeepAlive(port: number, path: string, finish: (verdict: HttpVerdict) => void): () => void {
  let current: Connection | undefined;
  let settled = false;
  const done = (verdict: HttpVerdict): void => {
    if (settled) return;
    settled = true;
    finish(verdict);
  };

  const attempt = (reused: Connection | undefined): void => {
    const connection = reused ?? new Connection(port);
    current = connection;
    let head = '';
    let parsed: Head | undefined;
    let bodyBytes = 0;
    let answered = false;
    const fail = (reason: string): void => {
      connection.exchange = undefined;
      connection.socket.destroy();
      // A reused connection the gateway had just closed: try once more on a fresh one.
      if (reused && !answered && !settled) attempt(undefined);
      else done(reason);
    };
    const complete = (answer: Head): void => {
      current = undefined;
      if (answer.close || bodyBytes !== answer.length) {
        connection.exchange = undefined;
        connection.socket.destroy();
      } else release(connection);
      done(answer.status >= 200 && answer.status <= 399 ? undefined : `HTTP ${answer.status}`);
    };
    connection.exchange = {
      data: (bytes, length) => {
        answered = true;
        if (parsed === undefined) {
          head += bytes.toString('latin1', 0, length);
          const end = head.indexOf(HEAD_END);
          if (end < 0) {
            if (head.length > MAX_HEAD_BYTES) fail('answer head too large');
            return;
          }
          const answer = parseHead(head);
          if (!answer) return fail('not an HTTP answer');
          parsed = answer;
          bodyBytes = head.length - end - HEAD_END.length;
        } else bodyBytes += length;
        if (parsed.close) return complete(parsed);
        if (parsed.length !== undefined && bodyBytes >= parsed.length) return complete(parsed);
        if (bodyBytes > MAX_BODY_BYTES) complete({ ...parsed, close: true });
      },
      end: () => {
        if (parsed) return complete({ ...parsed, close: true });
        fail('connection closed before an answer');
      },
      error: (error) => fail(describe(error)),
    };
    connection.socket.ref();
    connection.socket.write(requestBytes(port, path));
  };

  attempt(takeIdle(port));
  return () => {
    if (!current) return;
    current.exchange = undefined;
    current.socket.destroy();
  };
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
  for (const list of idle.values()) for (const connection of list) connection.socket.destroy();
  idle.clear();
}
