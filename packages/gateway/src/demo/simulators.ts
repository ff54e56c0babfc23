/**
 * The simulated devices of `gridseam demo`, on real loopback sockets:
 *
 * - one SunSpecSimulator for every site's PV inverter, storage and meter, on as few Modbus TCP
 *   ports as it needs (247 units each), its physics on the scenario clock (it stands still until the
 *   clock starts) and its reversion timers on real time (the gateway's setpoint lifetimes are real
 *   seconds). Each site's meter measures that site's units and its EV charger (the charger's power as
 *   the OCPP simulator draws it), so the site's net power is what a real site meter would see.
 * - the OCPP SimulatorFleet: one charging station per charger site (OCPP 2.0.1, security profile 2:
 *   wss with the demo CA and HTTP Basic), EV energy at the scenario's speed; EVs are plugged in by the
 *   scenario at their arrival times (no random arrivals).
 */
import { type ChargePointSimulator, type EvSpec, SimulatorFleet } from '@gridseam/ocpp';
import { Meter, SunSpecSimulator } from '@gridseam/sunspec';
import type { ScenarioClock } from './clock.ts';
import { startFailure } from './errors.ts';
import { type FleetPlan, PROFILE_CYCLE } from './fleet.ts';
import { CHARGER_MAX_CURRENT_A } from './scenario.ts';

export const CHARGER_PHASES = 3;
export const CHARGER_VOLTAGE = 230;
export const OCPP_VERSION = '2.0.1';

/** What a site meter measures of a device (a unit of the simulator, or the EV charger). */
type Metered = Parameters<Meter['meter']>[0][number];

/** The EV charger as the site meter sees it: its draw now, in the inverters' sign (negative = load). */
class ChargerLoad implements Metered {
  readonly ratedW = CHARGER_MAX_CURRENT_A * CHARGER_PHASES * CHARGER_VOLTAGE;
  acPowerW = 0;
  station: ChargePointSimulator | undefined;

  tick(): void {
    this.acPowerW = this.station === undefined ? 0 : -this.station.powerNow(1);
  }
}

export class DemoSunSpec {
  readonly simulator: SunSpecSimulator;
  readonly #chargerLoads = new Map<string, ChargerLoad>();

  constructor(plan: FleetPlan, clock: ScenarioClock) {
    this.simulator = new SunSpecSimulator({
      host: '127.0.0.1',
      port: 0,
      profile: PROFILE_CYCLE,
      count: plan.unitCount,
      speed: clock.speed,
      // Real ms since the scenario started: the physics stands still until then.
      clock: () => clock.elapsedRealMs(),
      startTime: clock.simStartMs,
      realTimeTimers: true,
    });
    for (const site of plan.sites) {
      const meter = this.simulator.unit(site.meter.unit);
      if (!(meter instanceof Meter)) throw new Error(`unit ${site.meter.unit} of ${site.id} is not a meter`);
      const metered: Metered[] = [this.simulator.unit(site.pv.unit), this.simulator.unit(site.storage.unit)];
      if (site.charger !== undefined) {
        const load = new ChargerLoad();
        this.#chargerLoads.set(site.charger.identity, load);
        metered.push(load);
      }
      meter.meter(metered);
    }
  }

  async start(): Promise<number[]> {
    try {
      return (await this.simulator.start()).ports;
    } catch (error) {
      throw startFailure('the SunSpec simulators could not start', error);
    }
  }

  /** Puts the charging stations behind their sites' meters. */
  attachChargers(fleet: SimulatorFleet): void {
    for (const station of fleet.stations) {
      const load = this.#chargerLoads.get(station.identity);
      if (load !== undefined) load.station = station;
    }
  }

  setOnline(unit: number, online: boolean): void {
    this.simulator.setUnitOnline(unit, online);
  }

  stop(): Promise<void> {
    return this.simulator.stop();
  }
}

export interface DemoChargers {
  fleet: SimulatorFleet;
  /**
   * Dials the CSMS (each station retries until it answers, so this may run before the gateway
   * listens); resolves once each station has tried once.
   */
  start(): Promise<void>;
  /** Plugs an EV into a station's EVSE 1; false when the station is unknown or busy. */
  plugIn(identity: string, ev: EvSpec): boolean;
  close(): Promise<void>;
}

/** The charging stations of the plan, for the CSMS at `endpoint` (wss://host:port/path). */
export function createChargers(options: {
  plan: FleetPlan;
  endpoint: string;
  password: string;
  caPem: string;
  speed: number;
  seed: number;
}): DemoChargers {
  const fleet = new SimulatorFleet({
    count: options.plan.chargerCount,
    prefix: options.plan.chargerPrefix,
    url: options.endpoint,
    version: OCPP_VERSION,
    password: options.password,
    tls: { ca: options.caPem },
    evses: { count: 1, maxCurrentA: CHARGER_MAX_CURRENT_A, phases: CHARGER_PHASES, voltage: CHARGER_VOLTAGE },
    speed: options.speed,
    seed: options.seed,
    minChargingCurrentA: 6,
    reconnectMinMs: 250,
    reconnectMaxMs: 2000,
    concurrency: 32,
  });
  return {
    fleet,
    async start() {
      try {
        await fleet.start();
      } catch (error) {
        throw startFailure('the OCPP charging stations could not start', error);
      }
    },
    plugIn(identity, ev) {
      const station = fleet.station(identity);
      if (station === undefined) return false;
      try {
        station.plugIn(1, ev);
        return true;
      } catch {
        return false;
      }
    },
    close: () => fleet.close(),
  };
}
