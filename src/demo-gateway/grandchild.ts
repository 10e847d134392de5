import { spawn } from 'node:child_process';

// The trailing argument only names the process in `ps`.
const SLEEP_FOREVER_SCRIPT = 'setInterval(() => {}, 1 << 30)';
const PROCESS_TAG = 'demo-gateway-grandchild';

// Starts a child that never exits and stays in our process group, like OpenClaw's workers:
// only a supervisor that kills the whole group gets rid of it. Returns its pid, or undefined.
export function spawnGrandchild(env: NodeJS.ProcessEnv): number | undefined {
  const child = spawn(process.execPath, ['-e', SLEEP_FOREVER_SCRIPT, PROCESS_TAG], {
    detached: false,
    stdio: 'ignore',
    env,
  });
  // A failed spawn reports through 'error'; without a listener it would crash the gateway.
  child.on('error', () => {});
  child.unref();
  return child.pid;
}
