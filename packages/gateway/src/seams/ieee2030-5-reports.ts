/**
 * What a site reports up to the utility over IEEE 2030.5, from canonical data only (pure): the
 * site's DERs (pv-inverter, battery, hybrid-inverter) as one DER of the site's EndDevice
 * (DERCapability, DERSettings, DERStatus with SoC, DERAvailability), and the mirror readings at
 * site level (the site meter) and DER level (the DERs summed). Powers are W in the generator
 * convention (docs/MODEL.md); the client's canonical.ts turns them into 2030.5 documents.
 */
import {
  type CanonicalAvailability,
  type CanonicalCapability,
  type CanonicalMeasurements,
  type CanonicalSettings,
  type CanonicalStatus,
  DER_TYPE,
  type ReadingsInput,
} from '@gridseam/ieee2030-5';
import type { Device, Reading, SetpointKind } from '@gridseam/model';

/** Device classes that make up a site's DER. */
const DER_CLASSES: ReadonlySet<Device['class']> = new Set(['pv-inverter', 'battery', 'hybrid-inverter']);
/** Below this magnitude a DER counts as not operating, W. */
const IDLE_W = 10;

/** The latest numeric total-phase value per measurand of one device. */
export type LatestValues = ReadonlyMap<string, { value: number; ts: number }>;

export function latestValues(readings: readonly Reading[]): Map<string, { value: number; ts: number }> {
  const out = new Map<string, { value: number; ts: number }>();
  for (const reading of readings) {
    if (typeof reading.value !== 'number' || reading.phase !== undefined || !Number.isFinite(reading.value)) continue;
    const seen = out.get(reading.measurand);
    if (seen === undefined || reading.ts > seen.ts)
      out.set(reading.measurand, { value: reading.value, ts: reading.ts });
  }
  return out;
}

export interface SiteSnapshot {
  devices: readonly Device[];
  latest: ReadonlyMap<string, LatestValues>;
}

export interface SiteReports {
  capability?: CanonicalCapability;
  settings?: Omit<CanonicalSettings, 'updatedTime'>;
  /** Without readingTime (set when it is sent). */
  status?: Omit<CanonicalStatus, 'readingTime'>;
  availability?: Omit<CanonicalAvailability, 'readingTime'>;
  /** Sum of the DERs' maxW: DERSettings.setMaxW, the base of the percentage control modes. */
  setMaxW?: number;
}

function derDevices(snapshot: SiteSnapshot): Device[] {
  return snapshot.devices.filter((device) => device.enabled !== false && DER_CLASSES.has(device.class));
}

function sum(values: ReadonlyArray<number | undefined>): number | undefined {
  let total: number | undefined;
  for (const value of values) if (value !== undefined) total = (total ?? 0) + value;
  return total;
}

function maxWOf(device: Device): number | undefined {
  return device.capabilities.ratings?.maxW ?? device.capabilities.storage?.maxDischargeW;
}

function derTypeOf(ders: readonly Device[]): number {
  const pv = ders.some((d) => d.class === 'pv-inverter');
  const storage = ders.some((d) => d.capabilities.storage !== undefined);
  if (ders.some((d) => d.class === 'hybrid-inverter') || (pv && storage)) return DER_TYPE.pvAndStorage;
  if (storage) return DER_TYPE.otherStorage;
  if (pv) return DER_TYPE.photovoltaic;
  return DER_TYPE.virtualOrMixed;
}

/** The site's DER documents in canonical terms; empty when the site has no DER. */
export function siteReports(snapshot: SiteSnapshot): SiteReports {
  const ders = derDevices(snapshot);
  if (ders.length === 0) return {};
  const maxW = sum(ders.map(maxWOf)) ?? 0;
  const maxVA = ders.every((d) => d.capabilities.ratings?.maxVA !== undefined)
    ? sum(ders.map((d) => d.capabilities.ratings?.maxVA))
    : undefined;
  const batteries = ders.filter((d) => d.capabilities.storage !== undefined);
  const storage =
    batteries.length === 0
      ? undefined
      : {
          capacityWh: sum(batteries.map((d) => d.capabilities.storage?.capacityWh)) ?? 0,
          maxChargeW: sum(batteries.map((d) => d.capabilities.storage?.maxChargeW)) ?? 0,
          maxDischargeW: sum(batteries.map((d) => d.capabilities.storage?.maxDischargeW)) ?? 0,
        };
  const controls = [...new Set(ders.flatMap((d) => d.capabilities.controls))].sort() as SetpointKind[];
  const capability: CanonicalCapability = {
    derType: derTypeOf(ders),
    ratings: { maxW, ...(maxVA === undefined ? {} : { maxVA }) },
    controls,
    ...(storage === undefined ? {} : { storage }),
  };
  const settings: Omit<CanonicalSettings, 'updatedTime'> = {
    maxW,
    controls,
    ...(maxVA === undefined ? {} : { maxVA }),
    ...(storage === undefined
      ? {}
      : { maxChargeW: storage.maxChargeW, maxDischargeW: storage.maxDischargeW, capacityWh: storage.capacityWh }),
  };

  const power = (device: Device) => snapshot.latest.get(device.id)?.get('activePower')?.value;
  const reporting = ders.filter((d) => (snapshot.latest.get(d.id)?.size ?? 0) > 0);
  const totalW = sum(ders.map(power));
  const status: Omit<CanonicalStatus, 'readingTime'> = {
    connected: reporting.length > 0,
    available: reporting.length > 0,
    operating: totalW !== undefined && Math.abs(totalW) > IDLE_W,
  };
  // State of charge: the capacity-weighted mean over the batteries that report one.
  let energy = 0;
  let capacity = 0;
  let storageW = 0;
  let availableW = 0;
  let reservePct: number | undefined;
  let sustainedWh = 0;
  for (const battery of batteries) {
    const cap = battery.capabilities.storage;
    if (cap === undefined) continue;
    const soc = snapshot.latest.get(battery.id)?.get('stateOfCharge')?.value;
    storageW += power(battery) ?? 0;
    const floor = cap.socMinPct ?? 0;
    reservePct = Math.max(reservePct ?? 0, floor);
    if (soc === undefined) continue;
    energy += (soc / 100) * cap.capacityWh;
    capacity += cap.capacityWh;
    if (soc > floor) {
      availableW += cap.maxDischargeW;
      sustainedWh += ((soc - floor) / 100) * cap.capacityWh;
    }
  }
  if (capacity > 0) {
    status.socPct = Math.round((energy / capacity) * 1000) / 10;
    status.storageMode = storageW < -IDLE_W ? 'charging' : storageW > IDLE_W ? 'discharging' : 'holding';
  }
  for (const der of ders) if (der.capabilities.storage === undefined) availableW += Math.max(0, power(der) ?? 0);
  const availability: Omit<CanonicalAvailability, 'readingTime'> = { availableW: Math.round(availableW) };
  if (reservePct !== undefined) availability.reservePct = reservePct;
  if (storage !== undefined && storage.maxDischargeW > 0 && sustainedWh > 0)
    availability.availabilityDurationS = Math.round((sustainedWh / storage.maxDischargeW) * 3600);
  return { capability, settings, status, availability, setMaxW: maxW };
}

function measurements(values: LatestValues | undefined): CanonicalMeasurements | undefined {
  if (values === undefined) return undefined;
  const out: CanonicalMeasurements = {};
  const realPowerW = values.get('activePower')?.value;
  const reactivePowerVar = values.get('reactivePower')?.value;
  const voltageV = values.get('voltage')?.value;
  if (realPowerW !== undefined) out.realPowerW = realPowerW;
  if (reactivePowerVar !== undefined) out.reactivePowerVar = reactivePowerVar;
  if (voltageV !== undefined) out.voltageV = voltageV;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Mirror readings: the site meter at site level (one meter; none or several: no site reading),
 * the DERs' powers summed at DER level with the first DER voltage. Undefined when nothing is known.
 */
export function siteReadings(snapshot: SiteSnapshot): ReadingsInput | undefined {
  const meters = snapshot.devices.filter((d) => d.class === 'meter');
  const site = meters.length === 1 && meters[0] ? measurements(snapshot.latest.get(meters[0].id)) : undefined;
  const ders = derDevices(snapshot);
  const perDer = ders.map((d) => measurements(snapshot.latest.get(d.id))).filter((m) => m !== undefined);
  let der: CanonicalMeasurements | undefined;
  if (perDer.length > 0) {
    der = {};
    const realPowerW = sum(perDer.map((m) => m.realPowerW));
    const reactivePowerVar = sum(perDer.map((m) => m.reactivePowerVar));
    const voltageV = perDer.find((m) => m.voltageV !== undefined)?.voltageV;
    if (realPowerW !== undefined) der.realPowerW = realPowerW;
    if (reactivePowerVar !== undefined) der.reactivePowerVar = reactivePowerVar;
    if (voltageV !== undefined) der.voltageV = voltageV;
  }
  if (site === undefined && der === undefined) return undefined;
  return { ...(site === undefined ? {} : { site }), ...(der === undefined ? {} : { der }) };
}
