/**
 * Whether a TCP port is free, by binding it for an instant: far cheaper than reading /proc/net/tcp
 * (milliseconds per read on some kernels), which matters on the path from a crash to its replacement.
 */
import net from 'node:net';

/** True when 127.0.0.1:port can be bound now (nothing listens on it, nor on the wildcard address). */
export function canBind(port: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? false : undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
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
