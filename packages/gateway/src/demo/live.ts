/**
 * What the run watches while the day plays, from the gateway's own bus (the same messages the
 * store and the control engine get): each device's latest power and state of charge, and the
 * online/offline changes the edge publishes. It feeds the status line and the summary's outage
 * report; it never polls a device itself.
 */
import type { DeviceClass, Reading } from '@gridseam/model';
import type { Bus, Subscription } from '../bus/types.ts';
import type { FleetPlan } from './fleet.ts';

export interface OnlineHistory {
  /** Epoch ms the edge reported the device offline, first time. */
  offlineAt?: number;
  /** Epoch ms it reported it online again after that. */
  onlineAgainAt?: number;
}

/** The device class of each planned device id. */
export function plannedClasses(plan: FleetPlan): Map<string, DeviceClass> {
  const classes = new Map<string, DeviceClass>();
  for (const site of plan.sites) {
    classes.set(site.pv.deviceId, 'pv-inverter');
    classes.set(site.storage.deviceId, site.storage.kind === 'hybrid' ? 'hybrid-inverter' : 'battery');
    classes.set(site.meter.deviceId, 'meter');
    if (site.charger !== undefined) classes.set(site.charger.deviceId, 'ev-charger');
  }
  return classes;
}

export class LiveTracker {
  readonly #classes: ReadonlyMap<string, DeviceClass>;
  readonly #powerW = new Map<string, number>();
  readonly #socPct = new Map<string, number>();
  readonly #online = new Map<string, OnlineHistory>();
  readonly #subscriptions: Subscription[] = [];

  constructor(classes: ReadonlyMap<string, DeviceClass>) {
    this.#classes = classes;
  }

  async start(bus: Bus): Promise<void> {
    this.#subscriptions.push(
      await bus.subscribe('telemetry', (message) => this.#readings(message.payload.readings), { concurrency: 1024 }),
      await bus.subscribe(
        'device.state',
        (message) => this.#state(message.payload.deviceId, message.payload.online, message.payload.at),
        { concurrency: 64 },
      ),
    );
  }

  #readings(readings: readonly Reading[] | undefined): void {
    if (!Array.isArray(readings)) return;
    for (const reading of readings) {
      if (reading.phase !== undefined || typeof reading.value !== 'number') continue;
      if (reading.measurand === 'activePower') this.#powerW.set(reading.deviceId, reading.value);
      else if (reading.measurand === 'stateOfCharge') this.#socPct.set(reading.deviceId, reading.value);
    }
  }

  #state(deviceId: string, online: boolean, at: number): void {
    let history = this.#online.get(deviceId);
    if (history === undefined) {
      history = {};
      this.#online.set(deviceId, history);
    }
    if (!online) history.offlineAt ??= at;
    else if (history.offlineAt !== undefined) history.onlineAgainAt ??= at;
  }

  /** Summed latest power of every device but the meters, W (generator convention: export positive). */
  fleetW(): number {
    let sum = 0;
    for (const [deviceId, power] of this.#powerW) if (this.#classes.get(deviceId) !== 'meter') sum += power;
    return sum;
  }

  /** Mean latest state of charge over the batteries and hybrids that reported one, %. */
  meanSocPct(): number | null {
    let sum = 0;
    let count = 0;
    for (const soc of this.#socPct.values()) {
      sum += soc;
      count++;
    }
    return count === 0 ? null : sum / count;
  }

  onlineHistory(deviceId: string): OnlineHistory {
    return { ...this.#online.get(deviceId) };
  }

  async close(): Promise<void> {
    await Promise.all(this.#subscriptions.splice(0).map((subscription) => subscription.close()));
  }
}
