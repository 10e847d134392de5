// Turns the results of bench/peers.mjs into docs/BENCHMARKS.md and docs/benchmarks.svg.
// Pure functions of the results object: no I/O, no clock.

const fmt = (n, digits = 1) => (n === undefined || n === null || Number.isNaN(n) ? 'n/a' : Number(n).toFixed(digits));
const ms = (n) => (n === undefined || n === null || Number.isNaN(n) ? 'n/a' : `${Math.round(n).toLocaleString('en-US')} ms`);
const ratio = (n) => (n === undefined || n === null || Number.isNaN(n) ? 'n/a' : `${fmt(n, 3)}×`);
const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');

function killSection(kill) {
  if (!kill) return [];
  const rows = [['bare cold start (no supervisor)', ms(kill.bare.medianMs), ms(kill.bare.p90Ms), '1.000×', '1.000×', `${kill.bare.n}`]];
  for (const [label, s] of Object.entries(kill.supervisors)) rows.push([`${label}: SIGKILL → replacement answers`, ms(s.medianMs), ms(s.p90Ms), ratio(s.medianRatio), ratio(s.p90Ratio), `${s.n}`]);
  return [
    '## A killed gateway comes back',
    '',
    `SIGKILL of the gateway's process, until its replacement answers \`GET /healthz\` with 200 (polled every 2 ms on a fresh connection), against a bare cold start of the same gateway (spawn() to the first 200), ${kill.rounds} rounds interleaved with the order rotating, after a warm-up round. Ratios are to the bare start's median and p90.`,
    '',
    table(['', 'median', 'p90', 'median ratio', 'p90 ratio', 'n'], rows),
    '',
  ];
}

function hangSection(hang, bareMs) {
  if (!hang) return [];
  const rows = [];
  for (const [label, h] of Object.entries(hang.supervisors)) {
    if (h.replaced > 0) {
      rows.push([label, `${h.replaced} of ${h.n}`, ms(h.medianMs), ms(h.p90Ms), ratio(h.medianRatio), '—']);
    } else {
      const last = h.rounds.at(-1);
      rows.push([label, `0 of ${h.n}`, `never (watched ${hang.waitS} s)`, '', '', `${describePidState(last?.oldPidState)}; the supervisor says: ${last?.supervisorSays ?? '?'}`]);
    }
  }
  return [
    '## A hung gateway is replaced',
    '',
    `SIGSTOP of the gateway (it keeps its port and stops answering), until a new process answers \`/healthz\`. clawfleet's liveness probe for this run: \`/healthz\` every 500 ms, timeout 250 ms, 3 failures, \`stop.timeout\` 1 s. PM2 and supervisord only watch for the process to exit, so they never notice a hang.${bareMs ? ` The ratio is to the bare cold start (${ms(bareMs)}).` : ''}`,
    '',
    table(['', 'replaced', 'median', 'p90', 'median ratio to a cold start', 'otherwise'], rows),
    '',
  ];
}

function idleSection(idle) {
  if (!idle || idle.length === 0) return [];
  const rows = idle.map((r) => [r.supervisor, `${r.gateways}`, `${fmt(r.rssMB)} MB`, `${fmt(r.rssMaxMB)} MB`, `${fmt(r.cpuPercent, 3)} %`, `${fmt(r.windowS, 0)} s`, `${r.gatewaysAlive}`, `${r.leftAfterTeardown ?? 0}`]);
  return [
    '## What the supervisor itself costs',
    '',
    "The supervisor's own process (clawfleet's `up`; PM2's God daemon; supervisord) while its fleet idles: RSS at the end of the window and its maximum, and CPU as utime + stime over the window, in % of one core. clawfleet probes every gateway's `/healthz` and `/readyz` every 2 s; PM2 and supervisord probe nothing.",
    '',
    table(['supervisor', 'gateways', 'RSS', 'RSS max', 'CPU', 'window', 'gateways alive', 'left running 30 s after SIGTERM to the supervisor'], rows),
    '',
  ];
}

function treeSection(tree) {
  if (!tree || tree.length === 0) return [];
  const rows = tree.map((r) => [r.supervisor, r.how, `${r.before.gateways} + ${r.before.grandchildren}`, `${r.afterStop.gateways} + ${r.afterStop.grandchildren}`, `${r.afterDaemonExit.gateways} + ${r.afterDaemonExit.grandchildren}`]);
  return [
    '## Processes left behind',
    '',
    "Gateways that each fork a grandchild (`--fork-grandchild`: a child in the gateway's process group), stopped the way an operator stops each supervisor's fleet; then the supervisor itself exits. Counted from /proc: gateways + grandchildren.",
    '',
    table(['supervisor', 'stopped with', 'before', 'after the stop', 'after the supervisor exited'], rows),
    '',
  ];
}

function editSection(edit) {
  if (!edit || edit.length === 0) return [];
  const rows = edit.map((r) => [r.supervisor, r.how, `${r.restarted} of ${r.gateways}`, r.restartedNames.length > 6 ? `${r.restartedNames.slice(0, 3).join(', ')} … (${r.restartedNames.length})` : r.restartedNames.join(', ') || '—', r.applied ? ms(r.liveMs) : 'not applied', ms(r.commandDoneMs)]);
  return [
    '## An edit of one gateway',
    '',
    "A fleet of gateways, one gateway's environment changed in the supervisor's own config, applied the supervisor's own way. Counted by comparing every gateway's pid before and after.",
    '',
    table(['supervisor', 'applied with', 'restarted', 'which', 'edited gateway serving the new env after', 'command done after'], rows),
    '',
  ];
}

function crashSection(crash) {
  if (!crash || crash.length === 0) return [];
  const rows = crash.map((r) => {
    const delays = r.delaysS ?? [];
    const shown = delays.length > 8 ? `${delays.slice(0, 6).join(', ')} … ${delays.at(-1)}` : delays.join(', ');
    return [r.supervisor, `${r.starts}`, `${fmt(r.lastStartAtS, 1)} s`, shown || '—', r.finalState ?? '?', r.gaveUp ? 'yes' : 'no'];
  });
  return [
    '## A gateway that exits at once',
    '',
    `A gateway started with \`--crash-on-boot\` (exits 1 at once), under every supervisor at the same time, watched for ${crash[0]?.observedS ?? '?'} s through /proc.`,
    '',
    table(['supervisor', 'starts', 'last start at', 'delays between starts (s)', 'final state', 'gave up'], rows),
    '',
  ];
}

/** docs/BENCHMARKS.md */
export function renderMarkdown(results) {
  const m = results.machine;
  const v = results.versions;
  const lines = [
    '# clawfleet next to PM2 and supervisord',
    '',
    '<!-- Written by `npm run bench` (bench/peers.mjs); edit that, not this file. -->',
    '',
    `Measured ${results.date.slice(0, 10)} in one run of ${Math.round(results.durationS / 60)} min on ${m.cpus} × ${m.cpuModel}, ${fmt(m.memGB, 0)} GB, ${m.kernel}, Node ${m.node}; clawfleet ${v.clawfleet}${v.pm2 ? `, PM2 ${v.pm2}` : ''}${v.supervisord ? `, supervisord ${v.supervisord}` : ''}. Every supervisor runs the very same gateway (\`node dist/cli.js demo-gateway --port P --boot-delay 0ms\`, clawfleet's light stand-in for an OpenClaw gateway) with the same argv and environment, side by side or interleaved, so the figures compare supervisors and not machines. Times are medians and p90 of the rounds; the chart shows every sample.`,
    '',
    '![latency distributions](benchmarks.svg)',
    '',
    ...(results.notes?.length ? [...results.notes.map((n) => `> ${n}`), ''] : []),
    ...killSection(results.kill),
    ...hangSection(results.hang, results.kill?.bare.medianMs),
    ...idleSection(results.idle),
    ...treeSection(results.tree),
    ...editSection(results.edit),
    ...crashSection(results.crash),
    '## Reproduce',
    '',
    '```sh',
    'npm ci && npm run bench        # writes docs/BENCHMARKS.md and docs/benchmarks.svg',
    'node bench/peers.mjs --quick   # a short smoke run that only prints',
    '```',
    '',
    `supervisord is used when it is installed (Debian: \`apt-get install supervisor\`) and skipped with a note otherwise; PM2 is a dev dependency. Options of this run: \`${JSON.stringify(results.options)}\`.`,
    '',
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The chart: one row per series, every sample as a dot, the median as a bar, p90 as a tick.

const COLORS = { bare: '#888888', clawfleet: '#1f77b4', PM2: '#d62728', supervisord: '#2ca02c' };
const esc = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function series(results) {
  const out = [];
  const kill = results.kill;
  if (kill) {
    out.push({ panel: 'SIGKILL → answering /healthz again', label: 'bare cold start', color: COLORS.bare, samples: kill.bare.samplesMs });
    for (const [label, s] of Object.entries(kill.supervisors)) out.push({ panel: 'SIGKILL → answering /healthz again', label, color: COLORS[label] ?? '#444', samples: s.samplesMs });
  }
  const hang = results.hang;
  if (hang) {
    for (const [label, h] of Object.entries(hang.supervisors)) {
      out.push({ panel: 'SIGSTOP (hung) → a new process answers', label, color: COLORS[label] ?? '#444', samples: h.samplesMs ?? [], never: h.replaced === 0 ? `never replaced (watched ${hang.waitS} s)` : undefined });
    }
  }
  return out;
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A log-scaled x axis from lo to hi ms, mapped to [x0, x1]. */
function axis(lo, hi, x0, x1) {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return (v) => x0 + ((Math.log10(Math.max(lo, Math.min(hi, v))) - a) / (b - a)) * (x1 - x0);
}

/** docs/benchmarks.svg */
export function renderSvg(results) {
  const rows = series(results);
  const panels = [...new Set(rows.map((r) => r.panel))];
  const all = rows.flatMap((r) => r.samples).filter((v) => v > 0);
  const lo = all.length ? 10 ** Math.floor(Math.log10(Math.min(...all))) : 10;
  const hi = all.length ? 10 ** Math.ceil(Math.log10(Math.max(...all))) : 10_000;
  const width = 860;
  const left = 170;
  const right = width - 30;
  const rowH = 34;
  const panelGap = 46;
  const x = axis(lo, hi, left, right);
  const parts = [];
  let y = 30;
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">clawfleet, PM2 and supervisord on the same gateway (ms, log scale)</text>`);
  for (const panel of panels) {
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(panel)}</text>`);
    y += 8;
    for (const r of rows.filter((s) => s.panel === panel)) {
      const cy = y + rowH / 2;
      parts.push(`<text x="${left - 8}" y="${cy + 4}" text-anchor="end" font-size="12">${esc(r.label)}</text>`);
      parts.push(`<line x1="${left}" y1="${cy}" x2="${right}" y2="${cy}" stroke="#eee"/>`);
      if (r.samples.length === 0) {
        parts.push(`<text x="${left + 6}" y="${cy + 4}" font-size="12" fill="${r.color}">${esc(r.never ?? 'no samples')}</text>`);
      } else {
        r.samples.forEach((v, i) => {
          const jitter = ((i * 7) % 11) - 5;
          parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(cy + jitter).toFixed(1)}" r="2.6" fill="${r.color}" fill-opacity="0.55"/>`);
        });
        const med = median(r.samples);
        const p90 = quantile(r.samples, 0.9);
        parts.push(`<line x1="${x(med).toFixed(1)}" y1="${cy - 11}" x2="${x(med).toFixed(1)}" y2="${cy + 11}" stroke="${r.color}" stroke-width="3"/>`);
        parts.push(`<line x1="${x(p90).toFixed(1)}" y1="${cy - 7}" x2="${x(p90).toFixed(1)}" y2="${cy + 7}" stroke="${r.color}" stroke-width="1.5" stroke-dasharray="2,2"/>`);
        parts.push(`<text x="${(x(med) + 6).toFixed(1)}" y="${cy - 8}" font-size="10" fill="${r.color}">${Math.round(med)}</text>`);
      }
      y += rowH;
    }
    y += panelGap - 30;
  }
  // Axis with decade ticks.
  y += 10;
  parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#333"/>`);
  for (let decade = lo; decade <= hi; decade *= 10) {
    for (const k of [1, 2, 5]) {
      const v = decade * k;
      if (v > hi) break;
      parts.push(`<line x1="${x(v).toFixed(1)}" y1="${y}" x2="${x(v).toFixed(1)}" y2="${y + (k === 1 ? 6 : 3)}" stroke="#333"/>`);
      if (k === 1 || k === 5) parts.push(`<text x="${x(v).toFixed(1)}" y="${y + 18}" text-anchor="middle" font-size="11">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
    }
  }
  y += 34;
  parts.push(`<text x="${left}" y="${y}" font-size="11" fill="#555">dots: every round · thick bar: median · dashed: p90</text>`);
  const height = y + 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** A /proc state letter of the hung gateway's old process, in words. */
function describePidState(state) {
  const words = { T: 'stopped', t: 'stopped', S: 'sleeping', R: 'running', D: 'in disk wait', Z: 'a zombie' };
  if (!state) return 'old process: unknown';
  if (state === 'gone') return 'old process gone';
  return `old process still there, ${words[state] ?? 'state'} (${state})`;
}
