/** Where the gateway is in its life, as the startup probe reports it. */
export type BootPhase = 'starting' | 'started' | 'draining';

/** Everything the probe answers depend on. */
export interface ProbeState {
  phase: BootPhase;
  neverReady: boolean;
  faultUnready: boolean;
}

/** An HTTP status and JSON body. */
export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

const LIVE: JsonAnswer = { status: 200, body: { ok: true, status: 'live' } };

// OpenClaw's probe answers (paths, statuses and bodies) for a state; undefined for a non-probe path.
export function answerProbe(pathname: string, state: ProbeState): JsonAnswer | undefined {
  switch (pathname) {
    case '/healthz':
    case '/health':
      return LIVE;
    case '/startupz':
    case '/startup':
      return answerStartup(state.phase);
    case '/readyz':
    case '/ready':
      return answerReady(readinessFailures(state));
    default:
      return undefined;
  }
}

function answerStartup(phase: BootPhase): JsonAnswer {
  if (phase === 'started') return { status: 200, body: { ok: true, status: 'started' } };
  return { status: 503, body: { ok: false, status: phase } };
}

function answerReady(failing: string[]): JsonAnswer {
  return { status: failing.length === 0 ? 200 : 503, body: { ready: failing.length === 0, failing } };
}

function readinessFailures(state: ProbeState): string[] {
  const failing: string[] = [];
  if (state.phase === 'starting') failing.push('startup');
  if (state.phase === 'draining') failing.push('draining');
  if (state.neverReady) failing.push('never-ready');
  if (state.faultUnready) failing.push('fault');
  return failing;
}
