/**
 * The OCPP benchmark's server under test, run as a child process: the real gateway
 * (`startGateway`) with an `ocpp` section listing every benchmark station (security profile 1,
 * passwords by SHA-256 digest), a SQLite file store and the in-process bus. Meter values take the
 * production path: CSMS (ocpp-rpc strict mode) -> OcppChargerAdapter buffer -> edge poll (every
 * ocpp.pollIntervalMs) -> bus `telemetry` -> TelemetryWriter -> SQLite writer thread.
 *
 * The config is parsed (validated, defaulted) by parseConfig with the first station; the others
 * are that station with their own identity and digest (a 5,000-station file would be close to
 * parseConfig's 1 MiB limit). The log goes to a file in the benchmark's folder; warnings are
 * counted and the first few reported.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import BetterSqlite3 from 'better-sqlite3';
import { startGateway } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { LogLevel } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import {
  fail,
  gcMonitor,
  loopDelayMonitor,
  loopDelayOf,
  openFilesLimit,
  type ServerCommand,
  type ServerMessage,
  type ServerSettings,
  sampleMemory,
  serveParent,
  stationIdentity,
  stationPassword,
  WindowProfiler,
} from './protocol.ts';

const SITE = 'bench-depot';
const settings = JSON.parse(process.argv[2] ?? '{}') as ServerSettings;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

async function main(): Promise<void> {
  const started = performance.now();
  const databasePath = join(settings.dir, 'gateway.sqlite');
  const logPath = join(settings.dir, 'gateway.log');
  const first = stationIdentity(0);
  const config = parseConfig(
    `
store: { kind: sqlite, path: ${JSON.stringify(databasePath)} }
bus: { kind: memory }
api: { host: 127.0.0.1, port: 0 }
log: { level: ${settings.logLevel} }
fleet:
  sites: [{ id: ${SITE}, name: Benchmark depot }]
ocpp:
  host: 127.0.0.1
  port: 0
  securityProfile: 1
  meterIntervalSeconds: ${settings.intervalS}
  pollIntervalMs: ${settings.pollIntervalMs}
  stations:
    - { identity: ${first}, siteId: ${SITE}, passwordSha256: ${sha256(stationPassword(settings.secret, first))} }
`,
    join(settings.dir, 'gateway.yaml'),
  );
  const ocpp = config.ocpp;
  const template = ocpp?.stations[0];
  if (!ocpp || !template) throw new Error('the benchmark config has no ocpp station');
  ocpp.stations = Array.from({ length: settings.stations }, (_, i) => {
    const identity = stationIdentity(i);
    return { ...template, identity, passwordSha256: sha256(stationPassword(settings.secret, identity)) };
  });

  const logFile = createWriteStream(logPath);
  const logger = createLogger({ level: settings.logLevel as LogLevel, destination: logFile });
  const gateway = await startGateway(config, { logger });
  const seam = gateway.ocpp;
  if (!seam) throw new Error('the gateway started without its OCPP CSMS');
  const devices = await gateway.store.devices.count();
  const startupMs = performance.now() - started;
  // Let the first round of (failing: nothing is connected yet) polls and the start-up work settle.
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const buffered = () => {
    let readings = gateway.telemetryWriter.buffered;
    let dropped = 0;
    for (const adapter of seam.chargers.all()) {
      const stats = adapter.stats();
      readings += stats.buffered;
      dropped += stats.droppedReadings;
    }
    return { readings, dropped };
  };

  let cpuStart = process.cpuUsage();
  let windowStart = performance.now();
  let loopDelay = loopDelayMonitor();
  let gc = gcMonitor();
  const profiler = new WindowProfiler(settings.cpuProfilePath);
  serveParent<ServerCommand, ServerMessage>(async (command) => {
    switch (command.type) {
      case 'window-start': {
        cpuStart = process.cpuUsage();
        windowStart = performance.now();
        loopDelay.disable();
        loopDelay = loopDelayMonitor();
        gc.read();
        gc = gcMonitor();
        await profiler.start();
        return undefined;
      }
      case 'measure': {
        const cpu = process.cpuUsage(cpuStart);
        await profiler.stop();
        const windowMs = performance.now() - windowStart;
        loopDelay.disable();
        const gcPauses = gc.read();
        const now = buffered();
        const memory = await sampleMemory();
        if (settings.heapSnapshotPath !== undefined) writeHeapSnapshot(settings.heapSnapshotPath);
        return {
          type: 'measured',
          memory,
          connections: seam.csms.connected().length,
          cpuMicros: cpu.user + cpu.system,
          windowMs,
          loopDelay: loopDelayOf(loopDelay),
          gc: gcPauses,
          buffered: now.readings,
          dropped: now.dropped,
        };
      }
      case 'drain': {
        // Every adapter is polled within a poll interval (plus jitter, or its back-off after the
        // failed polls before its station connected); then the writer commits what it holds.
        const drainStart = performance.now();
        const deadline = drainStart + 3 * settings.pollIntervalMs + 60_000;
        while (buffered().readings > 0 && performance.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 100));
        await gateway.telemetryWriter.flush();
        return { type: 'drained', ms: performance.now() - drainStart, buffered: buffered().readings };
      }
      case 'stop': {
        await gateway.close();
        await new Promise<void>((resolve) => logFile.end(() => resolve()));
        const db = new BetterSqlite3(databasePath, { readonly: true });
        // Committed readings are in `readings` or still in the inbox that is merged into it.
        const stored = (
          db.prepare('SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM readings_inbox) AS n').get() as {
            n: number;
          }
        ).n;
        db.close();
        const warnings = readFileSync(logPath, 'utf8')
          .split('\n')
          .filter((line) => /"level":(4|5|6)\d/.test(line));
        process.send?.(
          {
            type: 'stopped',
            storedReadings: stored,
            warnLines: warnings.length,
            firstWarnings: warnings.slice(0, 3).map((line) => line.slice(0, 400)),
          } satisfies ServerMessage,
          () => process.exit(0),
        );
        return undefined;
      }
    }
  });
  process.send?.({
    type: 'ready',
    endpoint: seam.endpoint,
    startupMs,
    baseline: await sampleMemory(),
    openFilesLimit: openFilesLimit(),
    devices,
  } satisfies ServerMessage);
}

main().catch((error: unknown) => fail(error));
