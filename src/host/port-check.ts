/**
 * Whether a TCP port is free, by binding it for an instant: far cheaper than reading /proc/net/tcp
 * (milliseconds per read on some kernels), which matters on the path from a crash to its replacement.
 */
import net from 'node:net';

/** One exclusive bind attempt: true if it bound, false if the address is in use, undefined if it cannot tell. */
function tryBind(port: number, host: string): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? false : undefined));
    server.listen({ port, host, exclusive: true, ipv6Only: host.includes(':') }, () => server.close(() => resolve(true)));
  });
}

/**
 * True when the port can be bound on loopback now, over IPv4 and IPv6: nothing listens on 127.0.0.1,
 * ::1 or a wildcard address there. OpenClaw's loopback bind takes both, so a listener on ::1 alone
 * makes it fail too. A host without IPv6 answers for IPv4 only.
 */
export async function canBind(port: number): Promise<boolean | undefined> {
  // Both at once: this sits between a crash and its replacement.
  const [v4, v6] = await Promise.all([tryBind(port, '127.0.0.1'), tryBind(port, '::1')]);
  if (v4 !== true) return v4;
  return v6 === false ? false : true;
}

/** Polls until the port can be bound; false after `timeoutMs`. An inconclusive answer (e.g. EACCES) counts as free. */
export async function waitUntilBindable(port: number, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await canBind(port)) !== false) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
