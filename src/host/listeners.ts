/** TCP listeners on this host, read from /proc (Linux), with the owning process where /proc tells it. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A listening TCP socket. */
export interface Listener {
  readonly port: number;
  readonly address: string;
  readonly inode: number;
  pid?: number;
  command?: string;
}

const TCP_LISTEN = '0A';

function hexToIPv4(hex: string): string {
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
  return bytes.join('.');
}

function hexToIPv6(hex: string): string {
  // /proc prints four 32-bit words, each in host (little-endian) byte order.
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => w.match(/../g)!.reverse());
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(`${bytes[i]}${bytes[i + 1]}`.replace(/^0+(?=.)/, ''));
  const text = groups.join(':');
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  return text;
}

/** Parses the text of /proc/net/tcp or /proc/net/tcp6 into listening sockets. */
export function parseProcNetTcp(text: string, v6: boolean): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
    const [addressHex, portHex] = fields[1]!.split(':');
    if (addressHex === undefined || portHex === undefined) continue;
    out.push({
      port: parseInt(portHex, 16),
      address: v6 ? hexToIPv6(addressHex) : hexToIPv4(addressHex),
      inode: Number(fields[9]),
    });
  }
  return out;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The command line of a process, as /proc shows it. */
export function processCommand(pid: number): string | undefined {
  const raw = readOr(`/proc/${pid}/cmdline`);
  if (!raw) return undefined;
  return raw.split('\0').filter(Boolean).join(' ');
}

/** Fills in pid and command of listeners by finding which process holds each socket inode. */
function attachOwners(listeners: Listener[]): void {
  const byInode = new Map<number, Listener[]>();
  for (const l of listeners) {
    const list = byInode.get(l.inode) ?? [];
    list.push(l);
    byInode.set(l.inode, list);
  }
  let remaining = byInode.size;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (const pid of pids) {
    if (remaining === 0) break;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (!match) continue;
      const owned = byInode.get(Number(match[1]));
      if (!owned || owned[0]!.pid !== undefined) continue;
      const command = processCommand(Number(pid));
      for (const l of owned) {
        l.pid = Number(pid);
        l.command = command;
      }
      remaining -= 1;
    }
  }
}

/** Listening TCP sockets of this host; with `owners`, also which process holds each one. */
export function readListeners(options: { owners?: boolean; ports?: ReadonlySet<number> } = {}): Listener[] {
  const all = [
    ...parseProcNetTcp(readOr('/proc/net/tcp'), false),
    ...parseProcNetTcp(readOr('/proc/net/tcp6'), true),
  ];
  const wanted = options.ports ? all.filter((l) => options.ports!.has(l.port)) : all;
  if (options.owners && wanted.length > 0) attachOwners(wanted);
  return wanted;
}

/** Whether this host exposes its listeners through /proc. */
export function canReadListeners(): boolean {
  return readOr('/proc/net/tcp') !== '';
}
