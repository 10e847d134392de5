/** The demo gateway's only output: event lines to stdout, failures to stderr. */
export interface DemoLog {
  info(message: string): void;
  error(message: string): void;
}

const PREFIX = 'demo-gateway';

// Line writer on the process's stdio that survives its reader going away.
export function createStdioLog(): DemoLog {
  // A supervisor that dies leaves a closed pipe; EPIPE must not kill the gateway it would adopt later.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  return {
    info: (message) => void process.stdout.write(`${PREFIX} ${message}\n`),
    error: (message) => void process.stderr.write(`${PREFIX}: ${message}\n`),
  };
}
