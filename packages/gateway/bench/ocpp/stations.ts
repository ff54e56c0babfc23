/**
 * The OCPP benchmark's load generator, run as a child process (its own event loop and core): N
 * lightweight OCPP 1.6J stations, each an ocpp-rpc RPCClient in strict mode (every CALL and
 * CALLRESULT checked against the OCA schemas, as the simulator and the CSMS do), Basic auth
 * (security profile 1), no reconnects (a lost connection is counted, not hidden).
 *
 * Connect: at most `concurrency` stations at a time open their WebSocket, send BootNotification
 * (must be Accepted) and one StatusNotification (connector 1 Charging). They answer the CSMS's
 * ChangeConfiguration (the gateway sets MeterValueSampleInterval after boot) with Accepted.
 *
 * Run: station i sends MeterValues at t0 + (i / N + k) x interval, k = 0, 1, ..., so the offered
 * load is N / interval messages/s spread evenly; one timer walks the schedule. Each message is a
 * periodic sample of a charging 3-phase station (energy register, power, current per phase,
 * offered current, SoC: 7 sampled values, as the simulator sends while charging). Latency is
 * measured here, from just before call() until its CALLRESULT arrives.
 *
 * Settings come as JSON in argv[2]; commands and results travel over the IPC channel
 * (protocol.ts).
 */
import { performance } from 'node:perf_hooks';
import ocppRpc from 'ocpp-rpc';
import {
  fail,
  latencyHistogram,
  loopDelayMonitor,
  loopDelayOf,
  openFilesLimit,
  percentilesOf,
  type StationCommand,
  type StationMessage,
  type StationSettings,
  sampleMemory,
  serveParent,
  stationIdentity,
  stationPassword,
} from './protocol.ts';

/** The subset of ocpp-rpc's RPCClient used here (its typings use `any`). */
interface StationLink {
  readonly state: number;
  connect(): Promise<unknown>;
  call(method: string, params: object): Promise<unknown>;
  handle(method: string, handler: (call: { params: unknown }) => object): void;
  close(options?: { code?: number; reason?: string; force?: boolean }): Promise<unknown>;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'socketError', listener: (error: Error) => void): unknown;
}
/** ocpp-rpc's RPCClient.OPEN. */
const OPEN = 1;
/** Answers slower than this are counted per second of the window. */
const SLOW_MS = 50;
/** How often the schedule is walked, ms. */
const TICK_MS = 5;

interface Station {
  identity: string;
  link: StationLink;
  energyWh: number;
  open: boolean;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as StationSettings;
const stations: Station[] = [];
let disconnects = 0;
let running = false;

function openLink(index: number): Station {
  const identity = stationIdentity(index);
  const options = {
    endpoint: settings.endpoint,
    identity,
    password: stationPassword(settings.secret, identity),
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: settings.callTimeoutMs,
  };
  type RpcOptions = ConstructorParameters<typeof ocppRpc.RPCClient>[0];
  const link = new ocppRpc.RPCClient(options as unknown as RpcOptions) as unknown as StationLink;
  const station: Station = { identity, link, energyWh: 1000 + index, open: false };
  // OCPP 1.6 §5.3: the gateway sets MeterValueSampleInterval after the boot; the schedule here is fixed.
  link.handle('ChangeConfiguration', () => ({ status: 'Accepted' }));
  link.on('socketError', () => {});
  link.on('close', () => {
    if (station.open && running) disconnects++;
    station.open = false;
  });
  return station;
}

async function connectOne(index: number): Promise<void> {
  const station = openLink(index);
  stations[index] = station;
  await station.link.connect();
  station.open = true;
  const boot = (await station.link.call('BootNotification', {
    chargePointVendor: 'Gridseam',
    chargePointModel: 'BenchCharger',
    chargePointSerialNumber: station.identity.slice(0, 25),
    firmwareVersion: '0.1.0',
  })) as { status?: string };
  if (boot.status !== 'Accepted') throw new Error(`${station.identity}: BootNotification ${String(boot.status)}`);
  await station.link.call('StatusNotification', {
    connectorId: 1,
    errorCode: 'NoError',
    status: 'Charging',
    timestamp: new Date().toISOString(),
  });
}

async function connectAll(): Promise<StationMessage> {
  const started = performance.now();
  let next = 0;
  let booted = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < settings.stations) {
      const index = next++;
      try {
        await connectOne(index);
        booted++;
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
        await stations[index]?.link.close({ force: true }).catch(() => {});
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, settings.stations) }, worker));
  const ms = performance.now() - started;
  return {
    type: 'connected',
    booted,
    failed,
    ...(firstError !== undefined ? { firstError } : {}),
    ms,
    memory: await sampleMemory(),
    openFilesLimit: openFilesLimit(),
  };
}

const POWER_W = 11_040; // 16 A x 3 x 230 V
const CURRENT_A = '16.0';

/** One periodic sample of a charging 3-phase station (the simulator's measurands, OCPP 1.6 §7.31). */
function meterValues(station: Station, intervalS: number): object {
  station.energyWh += (POWER_W * intervalS) / 3600;
  const soc = (20 + ((station.energyWh / 1000) % 80)).toFixed(1);
  const sampled = (measurand: string, value: string, unit: string, phase?: string) => ({
    value,
    context: 'Sample.Periodic',
    measurand,
    unit,
    location: measurand === 'SoC' ? 'EV' : 'Outlet',
    ...(phase !== undefined ? { phase } : {}),
  });
  return {
    connectorId: 1,
    meterValue: [
      {
        timestamp: new Date().toISOString(),
        sampledValue: [
          sampled('Energy.Active.Import.Register', station.energyWh.toFixed(1), 'Wh'),
          sampled('Power.Active.Import', POWER_W.toFixed(1), 'W'),
          sampled('Current.Import', CURRENT_A, 'A', 'L1'),
          sampled('Current.Import', CURRENT_A, 'A', 'L2'),
          sampled('Current.Import', CURRENT_A, 'A', 'L3'),
          sampled('Current.Offered', CURRENT_A, 'A'),
          sampled('SoC', soc, 'Percent'),
        ],
      },
    ],
  };
}
const SAMPLED_VALUES = 7;

async function run(): Promise<StationMessage> {
  const count = stations.length;
  const intervalMs = settings.intervalS * 1000;
  const windowMs = settings.seconds * 1000;
  const latency = latencyHistogram();
  const loopDelay = loopDelayMonitor();
  let sent = 0;
  let answered = 0;
  let answeredInWindow = 0;
  let errors = 0;
  let firstError: string | undefined;
  running = true;
  const t0 = performance.now() + 50;
  const end = t0 + windowMs;
  let k = 0;
  const seconds = Array.from({ length: Math.ceil(settings.seconds) }, () => ({ max: 0, slow: 0 }));

  const send = (station: Station) => {
    sent++;
    const params = meterValues(station, settings.intervalS);
    const started = performance.now();
    station.link.call('MeterValues', params).then(
      () => {
        const now = performance.now();
        const ms = now - started;
        latency.record(Math.max(1, Math.round(ms * 1000)));
        // Per second of the window (by send time): the slowest answer and how many took over 50 ms.
        const second = Math.min(seconds.length - 1, Math.max(0, Math.floor((started - t0) / 1000)));
        const bucket = seconds[second]!;
        bucket.max = Math.max(bucket.max, ms);
        if (ms > SLOW_MS) bucket.slow++;
        answered++;
        if (now <= end) answeredInWindow++;
      },
      (error: unknown) => {
        errors++;
        firstError ??= `${station.identity}: ${error instanceof Error ? error.message : String(error)}`;
      },
    );
  };

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      // Station k % count is due at t0 + k x interval / count.
      for (;;) {
        const due = t0 + (k * intervalMs) / count;
        if (due > now || due >= end) break;
        const station = stations[k % count]!;
        k++;
        if (station.open && station.link.state === OPEN) send(station);
      }
      if (now >= end) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  const open = stations.filter((s) => s.open && s.link.state === OPEN).length;
  const deadline = performance.now() + settings.callTimeoutMs + 1000;
  while (answered + errors < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  running = false;
  loopDelay.disable();
  return {
    type: 'window',
    windowMs,
    sent,
    answeredInWindow,
    answered,
    sampledValues: SAMPLED_VALUES,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    disconnects,
    open,
    latency: percentilesOf(latency),
    loopDelay: loopDelayOf(loopDelay),
    slowestSeconds: seconds
      .map((bucket, second) => ({ second, maxMs: Math.round(bucket.max * 10) / 10, over50Ms: bucket.slow }))
      .sort((a, b) => b.maxMs - a.maxMs)
      .slice(0, 5),
  };
}

async function closeAll(): Promise<StationMessage> {
  await Promise.all(stations.map((s) => s?.link.close({ code: 1000, reason: 'benchmark over' }).catch(() => {})));
  return { type: 'closed' };
}

serveParent<StationCommand, StationMessage>(async (command) => {
  if (command.type === 'run') return run();
  const closed = await closeAll();
  process.send?.(closed, () => process.exit(0));
  return undefined;
});

connectAll().then(
  (message) => process.send?.(message),
  (error: unknown) => fail(error),
);
