/**
 * The demo's world thread: everything the gateway talks to, on the second core. It starts the IEEE
 * 2030.5 utility server, the OpenADR 3 VTN and the SunSpec simulators, reports their ports, then
 * answers the main thread's requests (world-protocol.ts): dial the gateway's CSMS with the OCPP
 * stations, start the scenario clock, take a device off the network, plug an EV in, publish a
 * utility event, read back Responses and reports, close. The gateway itself (and so everything the
 * demo measures) stays on the main thread; the two share only sockets on 127.0.0.1.
 *
 * Loaded by world-client.ts as a worker (the same bootstrap as the SQLite writer thread: tsx is
 * registered first when running from TypeScript). Outside a worker with our workerData it does
 * nothing.
 */
import { createWriteStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { GridseamError } from '@gridseam/model';
import { createLogger, type Logger } from '../log.ts';
import { ScenarioClock } from './clock.ts';
import { planFleet } from './fleet.ts';
import { createChargers, type DemoChargers, DemoSunSpec } from './simulators.ts';
import { type DemoSepUtility, type DemoVtn, startDemoVtn, startSepUtility } from './utilities.ts';
import type { FromWorld, ToWorld, WorldAnswers, WorldConfig, WorldError, WorldRequest } from './world-protocol.ts';

export function isWorldConfig(data: unknown): data is WorldConfig {
  return typeof data === 'object' && data !== null && (data as Partial<WorldConfig>).gridseamDemoWorld === true;
}

export function worldError(error: unknown): WorldError {
  const message = error instanceof Error ? error.message : String(error);
  const out: WorldError = { message };
  if (GridseamError.is(error)) out.gridseamCode = error.code;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) out.errno = code;
  return out;
}

interface World {
  sep: DemoSepUtility;
  vtn: DemoVtn;
  sunspec: DemoSunSpec;
  chargers: DemoChargers;
  clock: ScenarioClock;
}

type Closer = () => Promise<void>;

async function closeAll(closers: Closer[], logger: Logger): Promise<void> {
  for (const close of closers.splice(0).reverse()) {
    try {
      await close();
    } catch (error) {
      logger.warn({ err: error }, 'demo world: a close step failed');
    }
  }
}

async function startWorld(config: WorldConfig, logger: Logger, closers: Closer[]): Promise<World> {
  const plan = planFleet(config.sites);
  const clock = new ScenarioClock({ speed: config.speed, startOffsetMs: config.startOffsetMs });
  const sep = await startSepUtility({
    profile: config.profile,
    paths: config.paths,
    aggregatorLfdi: config.aggregatorLfdi,
    sites: plan.sites,
    cadence: { pollSeconds: config.sepPollSeconds, postRateSeconds: config.sepPostSeconds },
    logger,
  });
  closers.push(() => sep.close());
  const vtn = await startDemoVtn({ paths: config.paths, logger });
  closers.push(() => vtn.close());
  const sunspec = new DemoSunSpec(plan, clock);
  await sunspec.start();
  closers.push(() => sunspec.stop());
  const chargers = createChargers({
    plan,
    endpoint: config.ocppEndpoint,
    password: config.ocppPassword,
    caPem: config.caPem,
    speed: config.speed,
    seed: config.seed,
  });
  // The stations close first (closers run in reverse): the CSMS sees them leave.
  closers.push(() => chargers.close());
  sunspec.attachChargers(chargers.fleet);
  return { sep, vtn, sunspec, chargers, clock };
}

async function answer(world: World, request: WorldRequest): Promise<WorldAnswers[WorldRequest['op']]> {
  switch (request.op) {
    case 'startStations':
      await world.chargers.start();
      return undefined;
    case 'startClock':
      world.clock.start(request.realStartMs);
      return undefined;
    case 'setOnline':
      world.sunspec.setOnline(request.unit, request.online);
      return undefined;
    case 'plugIn':
      return world.chargers.plugIn(request.identity, request.ev);
    case 'publishControl':
      return world.sep.publishControl(request.plan, request.window);
    case 'publishPeak':
      return world.vtn.publishPeakEvent(request.plan, request.window);
    case 'responses':
      return world.sep.responses(request.mRID);
    case 'reportCount':
      return world.vtn.reports(request.eventId).length;
    case 'stationsBooted':
      return world.chargers.fleet.stats().booted;
    case 'close':
      return undefined;
  }
}

async function serve(config: WorldConfig): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const send = (message: FromWorld) => port.postMessage(message);
  const log = createWriteStream(config.paths.log, { flags: 'a' });
  const logger = createLogger({
    level: config.verbose ? 'info' : 'warn',
    destination: log,
    base: { thread: 'world' },
  });
  const closers: Closer[] = [];
  let world: World;
  try {
    world = await startWorld(config, logger, closers);
  } catch (error) {
    await closeAll(closers, logger);
    send({ type: 'failed', error: worldError(error) });
    return;
  }
  send({
    type: 'ready',
    ready: {
      sepPort: world.sep.sepPort,
      vtnUrl: world.vtn.url,
      venSecret: world.vtn.venSecret,
      modbusPorts: [...world.sunspec.simulator.ports],
    },
  });
  port.on('message', (message: ToWorld) => {
    void (async () => {
      try {
        const value = await answer(world, message.request);
        if (message.request.op === 'close') {
          await closeAll(closers, logger);
          await new Promise<void>((resolve) => log.end(() => resolve()));
        }
        send({ type: 'answer', seq: message.seq, value });
        if (message.request.op === 'close') port.close();
      } catch (error) {
        logger.warn({ err: error, op: message.request.op }, 'demo world: a request failed');
        send({ type: 'error', seq: message.seq, error: worldError(error) });
      }
    })();
  });
}

if (isWorldConfig(workerData)) void serve(workerData);
