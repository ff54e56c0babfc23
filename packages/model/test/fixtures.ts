import type { Device, ProgramEvent, Reading, Site } from '../src/index.ts';

export const T0 = Date.UTC(2026, 10, 27, 14, 0, 0);

export function aSite(overrides: Partial<Site> = {}): Site {
  return {
    id: 'site-1',
    name: 'Depot',
    nmi: '4102345678',
    location: { latitude: -33.86, longitude: 151.2 },
    timezone: 'Australia/Sydney',
    connection: { exportLimitW: 5000, importLimitW: 15000, phases: 1 },
    ...overrides,
  };
}

export function aBattery(overrides: Partial<Device> = {}): Device {
  return {
    id: 'bess-1',
    siteId: 'site-1',
    class: 'battery',
    manufacturer: 'Acme',
    model: 'B10',
    serial: 'SN-0001',
    adapter: { kind: 'sunspec-modbus', address: 'tcp://127.0.0.1:1502/1' },
    capabilities: {
      ratings: { maxW: 5000, maxVA: 5000 },
      storage: { capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95 },
      ramp: { upWPerS: 1000 },
      controls: ['fixedW', 'chargeLimit', 'dischargeLimit', 'targetSoc', 'connect'],
    },
    enabled: true,
    ...overrides,
  };
}

export function aReading(overrides: Partial<Reading> = {}): Reading {
  return { deviceId: 'bess-1', ts: T0, measurand: 'activePower', value: -2500, unit: 'W', ...overrides } as Reading;
}

export function anEvent(overrides: Partial<ProgramEvent> = {}): ProgramEvent {
  return {
    id: 'evt-1',
    programId: 'prog-1',
    source: 'ieee2030.5',
    externalId: 'A1B2C3',
    primacy: 1,
    intervals: [{ start: T0, durationS: 3600, signals: [{ kind: 'exportLimit', value: 1500, unit: 'W' }] }],
    targets: { groupIds: ['grp-1'] },
    status: 'scheduled',
    statusHistory: [{ status: 'scheduled', at: T0 - 60_000 }],
    createdAt: T0 - 60_000,
    ...overrides,
  };
}
