/**
 * What a PV array could give, for the summary's curtailment: the same simulator physics the world
 * thread runs (a PV inverter's or hybrid's clear-sky output at a simulated time depends only on its
 * unit number and the profile's defaults), computed here on shadow devices made by the simulator's
 * own factory, so the main thread needs no message per sample.
 */
import { deviceFactory, Hybrid, PvInverter } from '@gridseam/sunspec';
import { DEMO_DAY_START_MS } from './clock.ts';
import type { DemoSite } from './fleet.ts';

export class PvAvailability {
  readonly #pv = deviceFactory('pv-inverter');
  readonly #hybrid = deviceFactory('hybrid');
  readonly #devices = new Map<number, PvInverter | Hybrid>();

  #device(unit: number, kind: 'pv-inverter' | 'hybrid'): PvInverter | Hybrid {
    let device = this.#devices.get(unit);
    if (device === undefined) {
      const made = (kind === 'pv-inverter' ? this.#pv : this.#hybrid).create(unit, DEMO_DAY_START_MS);
      if (!(made instanceof PvInverter) && !(made instanceof Hybrid)) throw new Error(`unit ${unit} has no PV`);
      device = made;
      this.#devices.set(unit, device);
    }
    return device;
  }

  /** The site's PV inverter's available power at a simulated time, W. */
  pvW(site: DemoSite, simMs: number): number {
    return this.#device(site.pv.unit, 'pv-inverter').availableAt(simMs);
  }

  /** The PV share of the site's storage: a hybrid's array, 0 for a battery, W. */
  storagePvW(site: DemoSite, simMs: number): number {
    return site.storage.kind === 'hybrid' ? this.#device(site.storage.unit, 'hybrid').availableAt(simMs) : 0;
  }
}
