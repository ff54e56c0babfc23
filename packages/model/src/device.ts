import Type, { type Static } from 'typebox';
import { EpochMs, Id, Labels, NonNegativeWatts, Percent } from './common.ts';
import { SETPOINT_KINDS } from './setpoint.ts';

export const DEVICE_CLASSES = [
  'pv-inverter',
  'battery',
  'hybrid-inverter',
  'ev-charger',
  'thermostat',
  'water-heater',
  'meter',
  'generic-load',
] as const;
export const DeviceClass = Type.Enum(DEVICE_CLASSES);
export type DeviceClass = Static<typeof DeviceClass>;

/** Nameplate ratings (IEEE 2030.5 DERCapability rtg*; SunSpec model 702 WMaxRtg, VAMaxRtg, ...). */
export const Ratings = Type.Object(
  {
    maxW: Type.Optional(NonNegativeWatts),
    maxVA: Type.Optional(Type.Number({ minimum: 0 })),
    /** Largest reactive power injected (over-excited), var. */
    maxVarInjected: Type.Optional(Type.Number({ minimum: 0 })),
    /** Largest reactive power absorbed (under-excited), var, as a magnitude. */
    maxVarAbsorbed: Type.Optional(Type.Number({ minimum: 0 })),
    nominalV: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);
export type Ratings = Static<typeof Ratings>;

/** Energy storage: capacity and the limits control and dispatch must respect. */
export const StorageCapability = Type.Object(
  {
    capacityWh: Type.Number({ exclusiveMinimum: 0 }),
    maxChargeW: NonNegativeWatts,
    maxDischargeW: NonNegativeWatts,
    socMinPct: Type.Optional(Percent),
    socMaxPct: Type.Optional(Percent),
    /** Round-trip efficiency as a fraction (0, 1]. */
    roundTripEfficiency: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type StorageCapability = Static<typeof StorageCapability>;

/** Ramp rates, W per second, as magnitudes. */
export const RampCapability = Type.Object(
  {
    upWPerS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    downWPerS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);
export type RampCapability = Static<typeof RampCapability>;

/** EV supply equipment (OCPP): current limits per phase and bidirectionality. */
export const EvCapability = Type.Object(
  {
    minCurrentA: Type.Optional(Type.Number({ minimum: 0 })),
    maxCurrentA: Type.Optional(Type.Number({ minimum: 0 })),
    phases: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(3)])),
    connectors: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    bidirectional: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type EvCapability = Static<typeof EvCapability>;

/** Thermal loads (thermostats, water heaters): the setpoint band the device accepts, degrees C. */
export const ThermalCapability = Type.Object(
  {
    setpointMinC: Type.Number({ minimum: -50, maximum: 150 }),
    setpointMaxC: Type.Number({ minimum: -50, maximum: 150 }),
    ratedPowerW: Type.Optional(NonNegativeWatts),
  },
  { additionalProperties: false },
);
export type ThermalCapability = Static<typeof ThermalCapability>;

/**
 * Optional typed capability sets: a device has only those it supports, in the spirit of
 * small capability interfaces. `controls` lists the setpoint kinds the adapter can deliver.
 */
export const Capabilities = Type.Object(
  {
    ratings: Type.Optional(Ratings),
    storage: Type.Optional(StorageCapability),
    ramp: Type.Optional(RampCapability),
    ev: Type.Optional(EvCapability),
    thermal: Type.Optional(ThermalCapability),
    controls: Type.Array(Type.Enum(SETPOINT_KINDS), { uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type Capabilities = Static<typeof Capabilities>;

/** How the gateway reaches the device: an adapter kind (sunspec-modbus, ocpp, simulator, ...) and its address. */
export const AdapterRef = Type.Object(
  {
    kind: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' }),
    address: Type.String({ minLength: 1, maxLength: 512 }),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type AdapterRef = Static<typeof AdapterRef>;

export const Device = Type.Object(
  {
    id: Id,
    siteId: Id,
    class: DeviceClass,
    name: Type.Optional(Type.String({ maxLength: 256 })),
    manufacturer: Type.Optional(Type.String({ maxLength: 128 })),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    serial: Type.Optional(Type.String({ maxLength: 128 })),
    adapter: AdapterRef,
    capabilities: Capabilities,
    enabled: Type.Boolean({ default: true }),
    labels: Type.Optional(Labels),
    createdAt: Type.Optional(EpochMs),
    updatedAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Device' },
);
export type Device = Static<typeof Device>;

/** Narrowing helpers: code that needs a capability asks for it and gets a typed value or undefined. */
export function storageOf(device: Pick<Device, 'capabilities'>): StorageCapability | undefined {
  return device.capabilities.storage;
}

export function supportsControl(device: Pick<Device, 'capabilities'>, kind: (typeof SETPOINT_KINDS)[number]): boolean {
  return device.capabilities.controls.includes(kind);
}

/** Whether a device class can both absorb and deliver active power. */
export function isBidirectional(device: Pick<Device, 'class' | 'capabilities'>): boolean {
  return (
    device.class === 'battery' || device.class === 'hybrid-inverter' || device.capabilities.ev?.bidirectional === true
  );
}
