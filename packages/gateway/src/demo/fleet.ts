/**
 * The demo fleet's layout (pure): which devices each site has, where each sits in the SunSpec
 * simulator, which sites have a charging station and each site's 2030.5 EndDevice LFDI.
 *
 * Every site has three SunSpec units in a row (a PV inverter, storage and the site meter): storage
 * is a battery, or a hybrid inverter (its own PV and battery) on every fourth site. Units are
 * numbered 1..3 x sites in one simulator that spreads them over as few Modbus TCP ports as it can
 * (247 unit ids per port). Every other site (the odd ones: site 1, 3, 5 ...) has an OCPP charging
 * station.
 */
import { createHash } from 'node:crypto';
import { MAX_UNITS_PER_PORT } from '@gridseam/sunspec';

/** The simulator's profile list: one turn is four sites (the fourth has a hybrid). */
export const PROFILE_CYCLE = [
  'pv-inverter',
  'battery',
  'meter',
  'pv-inverter',
  'battery',
  'meter',
  'pv-inverter',
  'battery',
  'meter',
  'pv-inverter',
  'hybrid',
  'meter',
].join(',');
export const UNITS_PER_SITE = 3;
export const HYBRID_EVERY = 4;

export interface DemoUnit {
  /** Unit number in the simulator, 1-based. */
  unit: number;
  deviceId: string;
  /** Index of the simulator port (0-based) and the Modbus unit id on it. */
  portIndex: number;
  unitId: number;
}

export interface DemoSite {
  /** 1-based. */
  index: number;
  id: string;
  name: string;
  /** The 2030.5 EndDevice standing for the site (40 hex, lower case). */
  lfdi: string;
  pv: DemoUnit;
  storage: DemoUnit & { kind: 'battery' | 'hybrid' };
  meter: DemoUnit;
  /** The charging station, on every other site. */
  charger?: { identity: string; deviceId: string };
}

export interface FleetPlan {
  sites: DemoSite[];
  /** SunSpec units in the simulator. */
  unitCount: number;
  /** Modbus TCP ports the simulator needs. */
  portCount: number;
  chargerCount: number;
  /** Charger identities are `${CHARGER_PREFIX}${k}`, k = 1..chargerCount (the OCPP SimulatorFleet's naming). */
  chargerPrefix: string;
}

export const CHARGER_PREFIX = 'ev-';

function unitAt(unit: number, deviceId: string): DemoUnit {
  return {
    unit,
    deviceId,
    portIndex: Math.floor((unit - 1) / MAX_UNITS_PER_PORT),
    unitId: ((unit - 1) % MAX_UNITS_PER_PORT) + 1,
  };
}

/** A stable LFDI for a site's EndDevice (the aggregator's EndDevices have no certificates of their own). */
export function siteLfdi(siteId: string): string {
  return createHash('sha256').update(`gridseam-demo-end-device:${siteId}`).digest('hex').slice(0, 40);
}

export function planFleet(siteCount: number): FleetPlan {
  if (!Number.isInteger(siteCount) || siteCount < 1) throw new RangeError('siteCount must be an integer >= 1');
  const sites: DemoSite[] = [];
  let chargers = 0;
  for (let index = 1; index <= siteCount; index++) {
    const first = (index - 1) * UNITS_PER_SITE + 1;
    const hybrid = index % HYBRID_EVERY === 0;
    const id = `site-${index}`;
    const site: DemoSite = {
      index,
      id,
      name: `Demo site ${index}`,
      lfdi: siteLfdi(id),
      pv: unitAt(first, `pv-${index}`),
      storage: {
        ...unitAt(first + 1, hybrid ? `hybrid-${index}` : `battery-${index}`),
        kind: hybrid ? 'hybrid' : 'battery',
      },
      meter: unitAt(first + 2, `meter-${index}`),
    };
    if (index % 2 === 1) {
      chargers++;
      site.charger = { identity: `${CHARGER_PREFIX}${chargers}`, deviceId: `${CHARGER_PREFIX}${chargers}` };
    }
    sites.push(site);
  }
  const unitCount = siteCount * UNITS_PER_SITE;
  return {
    sites,
    unitCount,
    portCount: Math.ceil(unitCount / MAX_UNITS_PER_PORT),
    chargerCount: chargers,
    chargerPrefix: CHARGER_PREFIX,
  };
}
