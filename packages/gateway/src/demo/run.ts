/**
 * `gridseam demo`: the whole chain over real loopback sockets with TLS, and one simulated day played
 * on it (docs/demo.md). Two threads of one process: the main thread runs the gateway (what the demo
 * shows and measures), the scenario, the status and the summary; the world thread (world.ts) runs
 * what the gateway talks to: the 2030.5 utility server, the OpenADR 3 VTN, the SunSpec simulators
 * and the OCPP stations.
 *
 *   startDemo   data folder (PKI, tokens), the world thread (utilities and simulators up), the
 *               gateway (startGateway with a config built in code), the stations dialling its CSMS;
 *               then waits (bounded) until the fleet is registered and the utilities are seen.
 *   play        starts the scenario clock (both threads), acts the scenario at its times, shows the
 *               status, samples the engine's compliance, and at the end gathers the summary.
 *   close       stops everything, in reverse order of start.
 *
 * A failure to start closes what was started and throws an error the CLI prints on one line.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import { localDateOf } from '@gridseam/settlement';
import { type Gateway, startGateway } from '../app.ts';
import { createLogger, type Logger } from '../log.ts';
import type { SettlementDaySummary } from '../settlement/index.ts';
import { PvAvailability } from './availability.ts';
import { formatTimeOfDay, HOUR_MS, ScenarioClock, simTimeOfDay, wholeSecondWindow } from './clock.ts';
import { cadenceFor, type DemoCadence, demoGatewayConfig, OCPP_PATH } from './config.ts';
import { type DemoData, prepareDemoData } from './data.ts';
import { DemoStartError, fsReason, startFailure } from './errors.ts';
import { type FleetPlan, planFleet } from './fleet.ts';
import { LiveTracker, plannedClasses } from './live.ts';
import { ComplianceTally } from './measure.ts';
import { type DemoProfile, planScenario, type ScenarioPlan } from './scenario.ts';
import { StatusDisplay } from './status.ts';
import { type DemoSettlement, type DemoSummary, demoSettlement, gatherSummary } from './summary.ts';
import { VEN_SECRET_ENV } from './utilities.ts';
import { WorldClient } from './world-client.ts';

const STATUS_REFRESH_MS = 500;

export interface DemoOptions {
  sites: number;
  /** Simulated seconds per real second. */
  speed: number;
  /** Real seconds to run after the clock starts; absent: until the simulated day ends. */
  durationS?: number;
  /** Console/API port; 0 picks a free one. */
  port: number;
  dataDir: string;
  profile: DemoProfile;
  seed: number;
  /** Time of day the run begins at, ms after midnight. */
  startOffsetMs: number;
  /** Every log line (info) to demo.log, not only warnings. */
  verbose: boolean;
}

export interface DemoIo {
  /** Progress, status and notes (stdout is left for the summary). */
  stderr: NodeJS.WritableStream;
  stderrIsTty: boolean;
}

export interface PlayResult {
  summary: DemoSummary;
  /** True when the run reached its end (duration or the day's end), false when stopped early. */
  complete: boolean;
}

export interface RunningDemo {
  /** http://127.0.0.1:PORT/#token=OPERATOR_TOKEN */
  consoleUrl: string;
  gateway: Gateway;
  data: DemoData;
  logger: Logger;
  /** Plays the day until its end or until `stop` resolves; gathers the summary. */
  play(stop: Promise<unknown>): Promise<PlayResult>;
  close(): Promise<void>;
}

/** Fails fast, before anything starts, when the console port is taken. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? `127.0.0.1:${port} is already in use; pick another port, or --port 0 for a free one`
          : `cannot listen on 127.0.0.1:${port} (${fsReason(error)})`;
      reject(new DemoStartError(`--port ${port}: ${why}`, { cause: error }));
    });
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A free port on 127.0.0.1 (for a server that must be known before it listens). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port taken between the checks and the gateway's listen: said plainly, naming the port. */
function gatewayStartFailure(error: unknown, apiPort: number, ocppPort: number): Error {
  const code = (error as { code?: unknown } | null)?.code;
  const port = (error as { port?: unknown } | null)?.port;
  if (code === 'EADDRINUSE' && port === ocppPort)
    return new DemoStartError(`the OCPP port 127.0.0.1:${ocppPort} was taken while starting; try again`, {
      cause: error,
    });
  if (code === 'EADDRINUSE')
    return new DemoStartError(
      `--port ${apiPort}: 127.0.0.1:${apiPort} is already in use; pick another port, or --port 0 for a free one`,
      { cause: error },
    );
  return startFailure('the gateway could not start', error);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

interface Closer {
  name: string;
  close: () => Promise<void>;
}

async function closeInReverse(closers: Closer[], logger: Logger | undefined): Promise<void> {
  for (const { name, close } of closers.splice(0).reverse()) {
    const started = Date.now();
    try {
      await close();
    } catch (error) {
      logger?.warn({ err: error, component: name }, `closing ${name} failed`);
    }
    const ms = Date.now() - started;
    if (ms > 2000) logger?.warn({ component: name, ms }, `closing ${name} took ${ms} ms`);
  }
}

function openLog(path: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    const stream = createWriteStream(path, { flags: 'w' });
    stream.once('open', () => resolve(stream));
    stream.once('error', (error) =>
      reject(new DemoStartError(`cannot write ${path} (${fsReason(error)})`, { cause: error })),
    );
  });
}

/** Waits (bounded) until every device is registered and polled, the stations booted and both utilities seen. */
async function waitForFleet(
  gateway: Gateway,
  world: WorldClient,
  plan: FleetPlan,
  note: (text: string) => void,
): Promise<void> {
  const expected = plan.unitCount + plan.chargerCount;
  const deadline = Date.now() + 30_000 + plan.sites.length * 30;
  let lastReport = Date.now();
  const missing = async (): Promise<string[]> => {
    const out: string[] = [];
    const polled = gateway.edge?.devices().filter((d) => d.state === 'running' && d.health === 'ok').length ?? 0;
    if (polled < expected) out.push(`${polled}/${expected} devices registered and answering`);
    const booted = await world.request({ op: 'stationsBooted' });
    if (booted < plan.chargerCount) out.push(`${booted}/${plan.chargerCount} charging stations booted`);
    const endDevices = gateway.ieee2030_5?.client.endDevices().length ?? 0;
    if (endDevices < plan.sites.length) out.push(`${endDevices}/${plan.sites.length} 2030.5 EndDevices seen`);
    if (gateway.openadr3?.ven.status().venId === undefined) out.push('the OpenADR VEN not registered yet');
    return out;
  };
  for (;;) {
    const left = await missing();
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      note(`warning: starting the day anyway (${left.join(', ')}); see demo.log`);
      return;
    }
    if (Date.now() - lastReport > 5000) {
      note(`  waiting: ${left.join(', ')}`);
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The world thread with the utilities and simulators listening. */
async function startWorld(
  options: DemoOptions,
  data: DemoData,
  cadence: DemoCadence,
  ocpp: { port: number; password: string },
  note: (text: string) => void,
): Promise<WorldClient> {
  const world = await WorldClient.start({
    sites: options.sites,
    profile: options.profile,
    speed: options.speed,
    startOffsetMs: options.startOffsetMs,
    seed: options.seed,
    paths: data.paths,
    aggregatorLfdi: data.aggregatorLfdi,
    caPem: data.caPem,
    sepPollSeconds: cadence.sepPollSeconds,
    sepPostSeconds: cadence.sepPostSeconds,
    ocppEndpoint: `wss://127.0.0.1:${ocpp.port}${OCPP_PATH}`,
    ocppPassword: ocpp.password,
    verbose: options.verbose,
  });
  const { sepPort, vtnUrl, modbusPorts } = world.ready;
  note(
    `  utilities up: IEEE 2030.5 (${options.profile}) on https://127.0.0.1:${sepPort}, OpenADR 3 VTN on ${vtnUrl}; ` +
      `SunSpec on Modbus TCP 127.0.0.1:${modbusPorts.join(',')}`,
  );
  return world;
}

/** The gateway on the world's ports, with the stations dialling its CSMS meanwhile. */
async function startDemoGateway(input: {
  options: DemoOptions;
  data: DemoData;
  plan: FleetPlan;
  cadence: DemoCadence;
  world: WorldClient;
  ocpp: { port: number; password: string };
  logger: Logger;
  clock: ScenarioClock;
}): Promise<Gateway> {
  const { options, world, ocpp, cadence } = input;
  const { sepPort, vtnUrl, venSecret, modbusPorts } = world.ready;
  const config = demoGatewayConfig({
    plan: input.plan,
    profile: options.profile,
    paths: input.data.paths,
    apiPort: options.port,
    tokens: input.data.tokens,
    modbusPorts,
    sepPort,
    vtnUrl,
    ocppPort: ocpp.port,
    ocppPassword: ocpp.password,
    cadence,
    speed: options.speed,
  });
  // Settled here, awaited after the gateway is up (a rejection must not go unhandled meanwhile).
  const dialling = world.request({ op: 'startStations' }).then(
    () => undefined,
    (error: unknown) => error,
  );
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, {
      logger: input.logger,
      env: { [VEN_SECRET_ENV]: venSecret },
      telemetryIdleFlushMs: cadence.telemetryIdleFlushMs,
      // Battery dispatch plans in simulated time: its intervals and prices follow the scenario clock.
      dispatchTimeScale: { speed: input.clock.speed, simulatedAt: (realMs: number) => input.clock.simAt(realMs) },
    });
  } catch (error) {
    throw gatewayStartFailure(error, options.port, ocpp.port);
  }
  const diallingFailed = await dialling;
  if (diallingFailed !== undefined) {
    await gateway.close();
    throw diallingFailed;
  }
  return gateway;
}

export async function startDemo(options: DemoOptions, io: DemoIo): Promise<RunningDemo> {
  const note = (text: string) => io.stderr.write(`${text}\n`);
  const closers: Closer[] = [];
  let logger: Logger | undefined;
  try {
    if (options.port !== 0) await assertPortFree(options.port);
    const data = await prepareDemoData(options.dataDir);
    const logStream = await openLog(data.paths.log);
    closers.push({ name: 'log', close: () => new Promise((resolve) => logStream.end(() => resolve())) });
    const log = createLogger({ level: options.verbose ? 'info' : 'warn', destination: logStream });
    logger = log;

    const plan = planFleet(options.sites);
    const scenario = planScenario(plan, { profile: options.profile, speed: options.speed, seed: options.seed });
    const cadence = cadenceFor(options.sites);
    const clock = new ScenarioClock({ speed: options.speed, startOffsetMs: options.startOffsetMs });
    note(
      `gridseam demo: ${plural(plan.sites.length, 'site')} (${plural(plan.unitCount, 'SunSpec device')}, ${plural(plan.chargerCount, 'OCPP charger')}), ` +
        `${options.profile}, a day at x${options.speed}; data in ${data.paths.dir}${data.pkiCreated ? ' (new test PKI)' : ''}`,
    );

    // The stations dial the CSMS's port before the gateway listens on it (they retry until it does),
    // so they are connected by the time the edge polls them.
    const ocpp = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    const world = await startWorld(options, data, cadence, ocpp, note);
    closers.push({ name: 'world thread', close: () => world.close() });
    const gateway = await startDemoGateway({ options, data, plan, cadence, world, ocpp, logger: log, clock });
    // Closes before the world (closers run in reverse): its clients stop before their servers go.
    closers.push({ name: 'gateway', close: () => gateway.close() });
    const live = new LiveTracker(plannedClasses(plan));
    await live.start(gateway.bus);
    closers.push({ name: 'live tracker', close: () => live.close() });
    note(`  gateway up on ${gateway.address}; waiting for the fleet to register`);
    await waitForFleet(gateway, world, plan, note);

    const consoleUrl = `${gateway.address}/#token=${data.tokens.operator}`;
    const parts: DayParts = { options, io, logger: log, clock, plan, scenario, cadence, world, gateway, live };
    let closing: Promise<void> | undefined;
    return {
      consoleUrl,
      gateway,
      data,
      logger: log,
      play: (stop) => playDay(parts, stop),
      close: () => {
        closing ??= closeInReverse(closers, log);
        return closing;
      },
    };
  } catch (error) {
    await closeInReverse(closers, logger);
    throw startFailure('gridseam demo could not start', error);
  }
}

interface DayParts {
  options: DemoOptions;
  io: DemoIo;
  logger: Logger;
  clock: ScenarioClock;
  plan: FleetPlan;
  scenario: ScenarioPlan;
  cadence: DemoCadence;
  world: WorldClient;
  gateway: Gateway;
  live: LiveTracker;
}

/** Timers on the scenario clock, all cleared at the end of the day. */
class Timeline {
  readonly #timers = new Set<NodeJS.Timeout>();
  constructor(private readonly clock: ScenarioClock) {}

  /** Runs `action` when the clock shows the time of day `offsetMs` (at once when it already has). */
  at(offsetMs: number, action: () => void | Promise<void>, onError: (error: unknown) => void): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        Promise.resolve()
          .then(action)
          .catch((error: unknown) => onError(error));
      },
      this.clock.delayUntil(simTimeOfDay(offsetMs)),
    );
    this.#timers.add(timer);
  }

  /** Runs `action` every `ms`, never twice at once; a round that fails is skipped (the next one runs). */
  every(ms: number, action: () => Promise<void> | void): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      Promise.resolve()
        .then(action)
        .catch(() => undefined)
        .finally(() => {
          running = false;
        });
    }, ms);
    this.#timers.add(timer);
  }

  clear(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

interface Scheduling {
  parts: DayParts;
  timeline: Timeline;
  note: (text: string) => void;
  /** What to do when an action fails: a warning on the terminal and in the log. */
  warn: (what: string) => (error: unknown) => void;
  /** Time of day (ms after midnight) the run began at: earlier windows are over. */
  startOffset: number;
}

const hhmm = (offsetMs: number) => formatTimeOfDay(simTimeOfDay(offsetMs));

/** The 2030.5 DERControl, published ahead, its window in whole seconds. */
function scheduleUtilityControl({ parts, timeline, note, warn, startOffset }: Scheduling): void {
  const { clock, world } = parts;
  const control = parts.scenario.utilityControl;
  if (control.endOffsetMs <= startOffset) return;
  timeline.at(
    control.publishOffsetMs,
    async () => {
      const window = wholeSecondWindow(
        clock.realAt(simTimeOfDay(control.startOffsetMs)),
        clock.realAt(simTimeOfDay(control.endOffsetMs)),
      );
      const mRID = await world.request({ op: 'publishControl', plan: control, window });
      const what =
        control.mode === 'opModExpLimW'
          ? `an export limit of ${control.limitW} W per site`
          : `a generation limit of ${control.pctHundredths / 100}% of each site's setMaxW`;
      note(
        `${formatTimeOfDay(clock.simNow())} IEEE 2030.5 utility publishes ${what} for ${hhmm(control.startOffsetMs)}-${hhmm(control.endOffsetMs)} (DERControl ${mRID})`,
      );
    },
    warn('publishing the 2030.5 control'),
  );
}

/** The OpenADR peak event, published ahead. */
function schedulePeakEvent({ parts, timeline, note, warn, startOffset }: Scheduling): void {
  const { clock, world } = parts;
  const peak = parts.scenario.peakEvent;
  if (peak.endOffsetMs <= startOffset) return;
  timeline.at(
    peak.publishOffsetMs,
    async () => {
      const startMs = Math.round(clock.realAt(simTimeOfDay(peak.startOffsetMs)) / 1000) * 1000;
      const endMs = Math.round(clock.realAt(simTimeOfDay(peak.endOffsetMs)) / 1000) * 1000;
      const id = await world.request({
        op: 'publishPeak',
        plan: peak,
        window: { startMs, durationS: Math.max(1, (endMs - startMs) / 1000) },
      });
      note(
        `${formatTimeOfDay(clock.simNow())} OpenADR 3 VTN publishes an evening peak event: site import <= ${peak.importLimitKw} kW for ${hhmm(peak.startOffsetMs)}-${hhmm(peak.endOffsetMs)} (event ${id})`,
      );
    },
    warn('publishing the OpenADR event'),
  );
}

/** The device that drops off the network and comes back. */
function scheduleOutage({ parts, timeline, note, warn, startOffset }: Scheduling): void {
  const { clock, world } = parts;
  const outage = parts.scenario.outage;
  if (outage.endOffsetMs <= startOffset) return;
  timeline.at(
    outage.startOffsetMs,
    async () => {
      await world.request({ op: 'setOnline', unit: outage.unit, online: false });
      note(`${formatTimeOfDay(clock.simNow())} ${outage.deviceId} drops off the network (Modbus exception 11)`);
    },
    warn('the outage'),
  );
  timeline.at(
    outage.endOffsetMs,
    async () => {
      await world.request({ op: 'setOnline', unit: outage.unit, online: true });
      note(`${formatTimeOfDay(clock.simNow())} ${outage.deviceId} answers again`);
    },
    warn('the end of the outage'),
  );
}

/** The EVs, each at its time; returns a counter of those plugged in. */
function scheduleArrivals({ parts, timeline, note, warn }: Scheduling): { arrivals: number } {
  const { clock, world } = parts;
  const counter = { arrivals: 0 };
  for (const arrival of parts.scenario.arrivals)
    timeline.at(
      arrival.atOffsetMs,
      async () => {
        if (!(await world.request({ op: 'plugIn', identity: arrival.identity, ev: arrival.ev }))) return;
        counter.arrivals++;
        if (counter.arrivals === 1)
          note(`${formatTimeOfDay(clock.simNow())} EVs start arriving at the chargers (until ${hhmm(19.5 * HOUR_MS)})`);
      },
      warn('an EV arrival'),
    );
  return counter;
}

/** Schedules the scenario's actions on the real chain; returns a counter of the EVs plugged in. */
function scheduleScenario(parts: DayParts, timeline: Timeline, note: (text: string) => void): { arrivals: number } {
  const scheduling: Scheduling = {
    parts,
    timeline,
    note,
    startOffset: parts.clock.simStartMs - simTimeOfDay(0),
    warn: (what) => (error) => {
      note(`warning: ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      parts.logger.warn({ err: error }, `demo: ${what} failed`);
    },
  };
  scheduleUtilityControl(scheduling);
  schedulePeakEvent(scheduling);
  scheduleOutage(scheduling);
  return scheduleArrivals(scheduling);
}

async function playDay(parts: DayParts, stop: Promise<unknown>): Promise<PlayResult> {
  const { options, io, clock, plan, gateway, live } = parts;
  const display = new StatusDisplay(io.stderr, io.stderrIsTty);
  const note = (text: string) => display.note(text);
  const timeline = new Timeline(clock);
  const compliance = new ComplianceTally();
  const devices = plan.unitCount + plan.chargerCount;
  let events = { active: 0, upcoming: 0 };
  const status = () => ({
    time: formatTimeOfDay(clock.simNow()),
    online: gateway.edge?.devices().filter((d) => d.state === 'running' && d.health !== 'faulty').length ?? 0,
    devices,
    activeEvents: events.active,
    upcomingEvents: events.upcoming,
    fleetW: live.fleetW(),
    meanSocPct: live.meanSocPct(),
  });

  clock.start();
  await parts.world.request({ op: 'startClock', realStartMs: clock.realStartMs ?? Date.now() });
  // Plans made before the clock started assumed it was running: plan again from now.
  gateway.dispatch?.trigger('clock-start');
  const counter = scheduleScenario(parts, timeline, note);
  display.start(clock.dayFraction(), status());
  timeline.every(STATUS_REFRESH_MS, async () => {
    const [active, scheduled] = await Promise.all([
      gateway.store.events.count({ status: 'active' }),
      gateway.store.events.count({ status: 'scheduled' }),
    ]);
    events = { active, upcoming: scheduled };
    display.update(clock.dayFraction(), status());
  });
  timeline.every(parts.cadence.complianceSampleMs, async () => {
    for (const entry of await gateway.control.compliance())
      if (entry.status === 'active') for (const target of entry.targets) compliance.add(entry.eventId, target);
  });

  const endAt =
    options.durationS !== undefined
      ? (clock.realStartMs ?? Date.now()) + options.durationS * 1000
      : clock.realAt(clock.dayEndMs);
  let endTimer: NodeJS.Timeout | undefined;
  const reachedEnd = new Promise<boolean>((resolve) => {
    endTimer = setTimeout(() => resolve(true), Math.max(0, endAt - Date.now()));
  });
  const complete = await Promise.race([reachedEnd, stop.then(() => false)]);
  clearTimeout(endTimer);
  timeline.clear();
  display.update(clock.dayFraction(), status());
  display.stop();
  const endedAt = Date.now();
  const settlement = await settleRun(gateway, clock.realStartMs ?? endedAt, endedAt);
  const summary = await gatherSummary({
    profile: options.profile,
    seed: options.seed,
    clock,
    plan,
    scenario: parts.scenario,
    cadence: parts.cadence,
    store: gateway.store,
    edge: gateway.edge,
    utilities: {
      responses: (mRID) => parts.world.request({ op: 'responses', mRID }),
      reportCount: (eventId) => parts.world.request({ op: 'reportCount', eventId }),
    },
    compliance,
    live,
    availability: new PvAvailability(),
    arrivals: counter.arrivals,
    complete,
    endedAt,
    settlement,
  });
  return { summary, complete };
}

/**
 * Settles the real days the run touched (SettlementService: telemetry, the dispatch and utility
 * events, the ledger); a failure is reported in the summary, not thrown, so the rest still prints.
 */
async function settleRun(gateway: Gateway, fromMs: number, toMs: number): Promise<DemoSettlement> {
  const { timeZone } = gateway.settlement;
  const dates = [...new Set([localDateOf(fromMs, timeZone), localDateOf(toMs, timeZone)])];
  const settled: SettlementDaySummary[] = [];
  try {
    for (const date of dates) settled.push(await gateway.settlement.settleDay(date, 'demo'));
  } catch (error) {
    return demoSettlement(timeZone, settled, error instanceof Error ? error.message : String(error));
  }
  return demoSettlement(timeZone, settled);
}
