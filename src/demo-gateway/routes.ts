import type http from 'node:http';
import { FAULT_PATH_PREFIX, isLoopbackAddress, parseFault, type FaultCommand } from './faults.js';
import { answerProbe, type JsonAnswer, type ProbeState } from './probe-answers.js';

/** What a fault request produces: the reply, and what to do once it has been sent. */
export interface FaultOutcome extends JsonAnswer {
  afterReply?: () => void;
}

/** The gateway state the routes read and the fault effects they trigger. */
export interface RouteDeps {
  probeState(): ProbeState;
  runFault(fault: FaultCommand): FaultOutcome;
}

const PROBE_METHODS = new Set(['GET', 'HEAD']);
const READINESS_PATHS = new Set(['/readyz', '/ready']);

// The base port's request handler: OpenClaw's probes plus loopback-only fault injection.
export function createGatewayHandler(deps: RouteDeps): http.RequestListener {
  return (req, res) => {
    req.resume();
    const { pathname, query } = splitUrl(req.url ?? '/');
    if (pathname.startsWith(FAULT_PATH_PREFIX)) {
      handleFault(req, res, pathname.slice(FAULT_PATH_PREFIX.length), query, deps);
    } else {
      handleProbe(req, res, pathname, deps);
    }
  };
}

// The browser-control stand-in only needs to hold base+2 and answer.
export function handleBrowserControl(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  sendJson(res, { status: 200, body: { ok: true } });
}

function handleProbe(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, deps: RouteDeps): void {
  const answer = answerProbe(pathname, deps.probeState());
  if (!answer) return sendJson(res, { status: 404, body: { ok: false, error: 'not found' } });
  if (!PROBE_METHODS.has(req.method ?? '')) return sendJson(res, methodNotAllowed, { allow: 'GET, HEAD' });
  // OpenClaw treats a proxied readiness probe as remote and refuses it.
  if (READINESS_PATHS.has(pathname) && req.headers['x-forwarded-for'] !== undefined) return sendJson(res, forbidden);
  sendJson(res, answer);
}

function handleFault(req: http.IncomingMessage, res: http.ServerResponse, name: string, query: URLSearchParams, deps: RouteDeps): void {
  if (req.method !== 'POST') return sendJson(res, methodNotAllowed, { allow: 'POST' });
  if (!isLoopbackAddress(req.socket.remoteAddress) || req.headers['x-forwarded-for'] !== undefined) {
    return sendJson(res, { status: 403, body: { ok: false, error: 'fault injection is loopback-only' } });
  }
  const request = parseFault(name, query);
  if (!request.ok) return sendJson(res, { status: request.status, body: { ok: false, error: request.error } });
  const outcome = deps.runFault(request.fault);
  sendJson(res, outcome, {}, outcome.afterReply);
}

const methodNotAllowed: JsonAnswer = { status: 405, body: { ok: false, error: 'method not allowed' } };
const forbidden: JsonAnswer = { status: 403, body: { ok: false, error: 'forbidden' } };

// `afterSent` runs once the reply is handed to the kernel, so a crash or hang never eats it.
function sendJson(res: http.ServerResponse, answer: JsonAnswer, headers: http.OutgoingHttpHeaders = {}, afterSent?: () => void): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text, afterSent);
}

// Split by hand: `new URL` would read a path like `//x` as a host.
function splitUrl(url: string): { pathname: string; query: URLSearchParams } {
  const mark = url.indexOf('?');
  if (mark < 0) return { pathname: url, query: new URLSearchParams() };
  return { pathname: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}
