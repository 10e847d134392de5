import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { stateDirUsers } from './state-dir-users.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function holder(stateDir: string, options: { detached?: boolean } = {}): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { env: { OPENCLAW_STATE_DIR: stateDir }, stdio: 'ignore', ...options });
  children.push(child);
  return child;
}

async function until<T>(check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('stateDirUsers', () => {
  it('names a process that runs with the same state dir, and no process with another', async () => {
    const owner = holder('/tmp/clawfleet-test-state-a');
    holder('/tmp/clawfleet-test-state-ab');
    const found = await until(() => {
      const users = stateDirUsers('/tmp/clawfleet-test-state-a', -1);
      return users.length > 0 ? users : undefined;
    });
    expect(found.map((u) => u.pid)).toEqual([owner.pid]);
    expect(found[0]!.command).toContain('setInterval');
    expect(stateDirUsers('/tmp/clawfleet-test-state-none', -1)).toEqual([]);
  });

  it('leaves out the members of the given process group (the gateway that exited, and its workers)', async () => {
    const own = holder('/tmp/clawfleet-test-state-b', { detached: true });
    await until(() => (stateDirUsers('/tmp/clawfleet-test-state-b', -1).length > 0 ? true : undefined));
    expect(stateDirUsers('/tmp/clawfleet-test-state-b', own.pid!)).toEqual([]);
  });
});
