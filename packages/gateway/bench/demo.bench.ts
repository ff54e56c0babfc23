/**
 * `gridseam demo` at scale (issue 8): `npm run bench:demo`.
 *
 * Runs the real binary as a child — `gridseam demo --sites 2000 --speed 60 --start 10:45
 * --duration 60 --port 0 --data TMP --json` — so one simulated hour (10:45 to 11:45) around the
 * start of the utility's midday export limit (11:00), with the whole chain in that one process: the
 * 2030.5 utility server, the OpenADR VTN, 6,000 SunSpec devices, 1,000 OCPP stations and the
 * gateway. Printed: the start-up time (until the console URL), the child's peak RSS and CPU seconds
 * (user + system, every thread) from its own accounting in the summary and, as a cross-check, from
 * /proc while it runs; and the lag from the utility control's start to each device's first setpoint
 * confirmed by read-back (p50 and max over the devices: max is the last device). The summary's
 * other numbers (commands, compliance) and the machine's load average are printed too: the machine
 * is shared, so a busy one shows in the lag.
 *
 * Settings from the environment:
 *   DEMO_BENCH_SITES     sites, default 2000
 *   DEMO_BENCH_SPEED     simulated seconds per real second, default 60
 *   DEMO_BENCH_START     time of day to start at, default 10:45
 *   DEMO_BENCH_SECONDS   real seconds after the clock starts, default 60
 *   DEMO_BENCH_KEEP      keep the data folder (its demo.log) and print where it is
 * Exit code 1 when the demo fails or no device confirmed a setpoint for the control.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DemoSummary } from '../src/demo/summary.ts';

const sites = Number(process.env.DEMO_BENCH_SITES ?? 2000);
const speed = Number(process.env.DEMO_BENCH_SPEED ?? 60);
const start = process.env.DEMO_BENCH_START ?? '10:45';
const seconds = Number(process.env.DEMO_BENCH_SECONDS ?? 60);
const bin = resolve(import.meta.dirname, '../bin/gridseam.js');
const data = mkdtempSync(join(tmpdir(), 'gridseam-bench-demo-'));
const CLK_TCK = 100;

interface ProcSample {
  cpuSeconds: number;
  rssBytes: number;
}

/** utime + stime and RSS of a process from /proc (Linux), or undefined elsewhere. */
function procSample(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / CLK_TCK, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const secs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`);

async function main(): Promise<number> {
  const args = ['demo', '--sites', String(sites), '--speed', String(speed), '--start', start];
  args.push('--duration', String(seconds), '--port', '0', '--data', data, '--json');
  console.log(
    `bench:demo — gridseam ${args.join(' ')}\n  ${availableParallelism()} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start`,
  );
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let consoleAt: number | undefined;
  let peakProcRss = 0;
  let lastProc: ProcSample | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr += text;
    if (consoleAt === undefined && text.includes('console: ')) consoleAt = Date.now();
    for (const line of text.split('\n')) if (line.trim() !== '') process.stderr.write(`  | ${line.trim()}\n`);
  });
  const sampler = setInterval(() => {
    const sample = child.pid === undefined ? undefined : procSample(child.pid);
    if (sample === undefined) return;
    lastProc = sample;
    peakProcRss = Math.max(peakProcRss, sample.rssBytes);
  }, 500);
  const code = await new Promise<number | null>((done) => child.on('exit', (exitCode) => done(exitCode)));
  clearInterval(sampler);
  const endedAt = Date.now();
  if (code !== 0) {
    console.log(`FAIL: the demo exited with ${code}\n${stderr.slice(-2000)}`);
    return 1;
  }
  const summary = JSON.parse(stdout) as DemoSummary;
  const control = summary.perEvent.find((e) => e.source === 'ieee2030.5');
  const p = summary.process;
  console.log(`
  start-up (until the console URL)     ${consoleAt === undefined ? '-' : `${((consoleAt - started) / 1000).toFixed(1)} s`}
  whole run, start to exit             ${((endedAt - started) / 1000).toFixed(1)} s
  simulated                            ${summary.demo.simulated.from}-${summary.demo.simulated.to} at x${summary.demo.speed}, ${summary.demo.sites} sites, ${summary.devices.total} devices (${summary.devices.online} online at the end)
  peak RSS                             ${mib(p.peakRssBytes)} (from /proc while running: ${mib(peakProcRss)})
  CPU seconds, user + system           ${(p.cpuUserSeconds + p.cpuSystemSeconds).toFixed(1)} s (user ${p.cpuUserSeconds}, system ${p.cpuSystemSeconds}; /proc at the last sample ${lastProc?.cpuSeconds.toFixed(1) ?? '-'} s)
  utility control                      ${control === undefined ? 'none received' : `${control.signal?.kind} ${control.signal?.value} W from ${control.window.start}, ${control.status}`}
  lag, control start -> confirmed      ${control === undefined ? '-' : `p50 ${secs(control.lag.p50Ms)}, max ${secs(control.lag.maxMs)} (the last of ${control.lag.devices} devices)`}
  commands for it                      ${control === undefined ? '-' : `${control.commands.total} issued, ${control.commands.confirmed} confirmed by read-back on ${control.commands.devicesConfirmed}/${control.commands.devices} devices, ${control.commands.failed} failed`}
  Responses at the utility server      ${summary.responses.ieee2030_5.sent} (${Object.entries(
    summary.responses.ieee2030_5.byStatus,
  )
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ')})
  compliance while it was in force     ${control === undefined || control.compliance.samples === 0 ? '-' : `${control.compliance.compliantPct}% of ${control.compliance.samples} site samples`}
  load average at the end              ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`);
  if (process.env.DEMO_BENCH_KEEP !== undefined) console.log(`  data folder kept: ${data}`);
  return control !== undefined && control.lag.devices > 0 ? 0 : 1;
}

main()
  .then((code) => {
    if (process.env.DEMO_BENCH_KEEP === undefined) rmSync(data, { recursive: true, force: true });
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    console.error(error);
    rmSync(data, { recursive: true, force: true });
    process.exitCode = 1;
  });
