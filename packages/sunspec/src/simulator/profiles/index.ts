/**
 * The device profiles and a factory per profile: the register map is encoded once per profile
 * (the template) and every unit gets a copy of its image, so thousands of units stay cheap.
 */
import type { ProfileName, SimulatedDevice } from '../device.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import { Battery, batteryTemplate } from './battery.ts';
import { Hybrid, hybridTemplate } from './hybrid.ts';
import { LegacyInverter, legacyInverterTemplate } from './legacy-inverter.ts';
import { Meter, type MeterOptions, meterTemplate } from './meter.ts';
import { PvInverter, type PvOptions, pvInverterTemplate } from './pv-inverter.ts';
import type { StorageOptions } from './storage.ts';

/** Physics options; each profile reads the ones that apply to it. */
export interface ProfileOptions extends PvOptions, StorageOptions, MeterOptions {}

/** The SunSpec models of each profile, in chain order (the end marker follows). */
export const PROFILE_MODELS: Readonly<Record<ProfileName, readonly number[]>> = {
  'pv-inverter': [1, 103, 120, 123, 701, 702, 704],
  battery: [1, 701, 702, 704, 713, 802, 124],
  hybrid: [1, 103, 701, 702, 704, 713, 802, 124, 160],
  meter: [1, 203],
  'legacy-inverter': [1, 101, 120, 121, 122, 123],
};

export interface DeviceFactory {
  readonly profile: ProfileName;
  /** The profile's map before any unit's values; units get clones. */
  readonly template: RegisterMap;
  create(unit: number, startMs: number): SimulatedDevice;
}

export function deviceFactory(
  profile: ProfileName,
  options: ProfileOptions = {},
  mapOptions: RegisterMapOptions = {},
): DeviceFactory {
  switch (profile) {
    case 'pv-inverter': {
      const template = pvInverterTemplate(options, mapOptions);
      return { profile, template, create: (u, t) => new PvInverter(u, template.clone(), t, options) };
    }
    case 'battery': {
      const template = batteryTemplate(options, mapOptions);
      return { profile, template, create: (u, t) => new Battery(u, template.clone(), t, options) };
    }
    case 'hybrid': {
      const template = hybridTemplate(options, mapOptions);
      return { profile, template, create: (u, t) => new Hybrid(u, template.clone(), t, options) };
    }
    case 'meter': {
      const template = meterTemplate(options, mapOptions);
      return { profile, template, create: (u, t) => new Meter(u, template.clone(), t, options) };
    }
    case 'legacy-inverter': {
      const template = legacyInverterTemplate(options, mapOptions);
      return { profile, template, create: (u, t) => new LegacyInverter(u, template.clone(), t, options) };
    }
  }
}

export { Battery, Hybrid, LegacyInverter, Meter, PvInverter };
