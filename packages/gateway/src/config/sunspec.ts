import { Id } from '@gridseam/model';
import Type, { type Static } from 'typebox';
import { type ConfigIssue, keyPathOf } from './issues.ts';

/**
 * The `sunspec` section: SunSpec Modbus TCP devices the gateway polls and controls, listed one by
 * one or found by scanning unit ids behind an address. Class, capabilities, manufacturer, model and
 * serial come from the device itself (its SunSpec models) when the gateway starts.
 */

export const DEFAULT_MODBUS_PORT = 502;
export const DEFAULT_POLL_INTERVAL_MS = 5000;
export const DEFAULT_SUNSPEC_CONCURRENCY = 64;
export const DEFAULT_SUNSPEC_TIMEOUT_MS = 1000;

const Host = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s/]+$' });
const Port = Type.Integer({ minimum: 1, maximum: 65535, default: DEFAULT_MODBUS_PORT });
/** A Modbus unit id (one byte; SunSpec devices on TCP commonly answer on 1 or 126). */
const Unit = Type.Integer({ minimum: 0, maximum: 255 });
const PollInterval = Type.Integer({ minimum: 100, maximum: 86_400_000, default: DEFAULT_POLL_INTERVAL_MS });
/** "1-10", "3", "1-4,7": inclusive ranges separated by commas. */
const UNIT_RANGE_PATTERN = '^\\s*\\d{1,3}\\s*(-\\s*\\d{1,3}\\s*)?(,\\s*\\d{1,3}\\s*(-\\s*\\d{1,3}\\s*)?)*$';

export const SunSpecDeviceConfig = Type.Object(
  {
    id: Id,
    siteId: Id,
    host: Host,
    port: Port,
    unit: Type.Integer({ minimum: 0, maximum: 255, default: 1 }),
    pollIntervalMs: PollInterval,
    /** Display name for the registry; the device's own model name is kept separately. */
    name: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
export type SunSpecDeviceConfig = Static<typeof SunSpecDeviceConfig>;

export const SunSpecDiscoverConfig = Type.Object(
  {
    host: Host,
    port: Port,
    /** Unit ids to probe: a range string ("1-10", "1-4,7") or a list ([1, 2, 3]). */
    units: Type.Union([
      Type.String({ pattern: UNIT_RANGE_PATTERN, maxLength: 256 }),
      Type.Array(Unit, { minItems: 1, maxItems: 256, uniqueItems: true }),
    ]),
    siteId: Id,
    /** Device ids are idPrefix + unit id, e.g. 'inv-' -> inv-1, inv-2, ... */
    idPrefix: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,124}$' }),
    pollIntervalMs: PollInterval,
  },
  { additionalProperties: false },
);
export type SunSpecDiscoverConfig = Static<typeof SunSpecDiscoverConfig>;

export const SunSpecSection = Type.Object(
  {
    devices: Type.Array(SunSpecDeviceConfig, { maxItems: 100000, default: [] }),
    discover: Type.Array(SunSpecDiscoverConfig, { maxItems: 1000, default: [] }),
    /** Polls running at once over every SunSpec device. */
    concurrency: Type.Integer({ minimum: 1, maximum: 4096, default: DEFAULT_SUNSPEC_CONCURRENCY }),
    /** Time to wait for each Modbus response. */
    timeoutMs: Type.Integer({ minimum: 1, maximum: 60000, default: DEFAULT_SUNSPEC_TIMEOUT_MS }),
  },
  { additionalProperties: false },
);
export type SunSpecSection = Static<typeof SunSpecSection>;

/** The unit ids of a discovery entry, ascending; throws RangeError naming the bad part. */
export function parseUnits(units: string | readonly number[]): number[] {
  if (typeof units !== 'string') return [...new Set(units)].sort((a, b) => a - b);
  const found = new Set<number>();
  for (const part of units.split(',')) {
    const [fromText, toText] = part.split('-').map((s) => s.trim());
    const from = Number(fromText);
    const to = toText === undefined ? from : Number(toText);
    if (!Number.isInteger(from) || !Number.isInteger(to) || fromText === '' || toText === '')
      throw new RangeError(`'${part.trim()}' is not a unit id or a range like 1-10`);
    if (from > 255 || to > 255) throw new RangeError(`'${part.trim()}': unit ids are 0..255`);
    if (from > to) throw new RangeError(`'${part.trim()}': the range runs backwards`);
    for (let unit = from; unit <= to; unit++) found.add(unit);
  }
  return [...found].sort((a, b) => a - b);
}

/** The registry address of a SunSpec device: tcp://host:port/unit. */
export function sunspecAddress(host: string, port: number, unit: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `tcp://${bracketed}:${port}/${unit}`;
}

function idsOf(items: unknown): Map<string, number> {
  const ids = new Map<string, number>();
  if (Array.isArray(items))
    items.forEach((item, index) => {
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && !ids.has(id)) ids.set(id, index);
    });
  return ids;
}

/**
 * Rules across fields and sections, checked after the schema: sites must be listed in
 * fleet.sites, device ids (configured or discovered) must be unique and not clash with
 * fleet.devices, a host:port/unit is driven once, and unit ranges must parse.
 */
export function sunspecIssues(root: unknown): ConfigIssue[] {
  const section = (root as { sunspec?: unknown }).sunspec;
  if (typeof section !== 'object' || section === null) return [];
  const { devices, discover } = section as { devices?: unknown; discover?: unknown };
  const fleet = (root as { fleet?: { sites?: unknown; devices?: unknown } }).fleet;
  const siteIds = idsOf(fleet?.sites);
  const fleetDeviceIds = idsOf(fleet?.devices);
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string) => issues.push({ path, keyPath: keyPathOf(path, root), message });
  const deviceIds = new Map<string, string>();
  const addresses = new Map<string, string>();

  const claim = (id: string, address: string, path: string, idPath: string) => {
    const where = keyPathOf(path, root);
    const fleetIndex = fleetDeviceIds.get(id);
    if (fleetIndex !== undefined) at(idPath, `duplicates fleet.devices[${fleetIndex}].id '${id}'`);
    const first = deviceIds.get(id);
    if (first !== undefined) at(idPath, `duplicates the device id '${id}' of ${first}`);
    else deviceIds.set(id, where);
    const other = addresses.get(address);
    if (other !== undefined) at(path, `drives ${address} again (already ${other})`);
    else addresses.set(address, where);
  };
  const checkSite = (siteId: unknown, path: string) => {
    if (typeof siteId === 'string' && !siteIds.has(siteId))
      at(path, `must name a site in fleet.sites (no site '${siteId}')`);
  };

  if (Array.isArray(devices))
    devices.forEach((device, index) => {
      if (typeof device !== 'object' || device === null) return;
      const { id, siteId, host, port, unit } = device as Record<string, unknown>;
      const path = `/sunspec/devices/${index}`;
      checkSite(siteId, `${path}/siteId`);
      if (typeof id === 'string' && typeof host === 'string' && typeof port === 'number' && typeof unit === 'number')
        claim(id, sunspecAddress(host, port, unit), path, `${path}/id`);
    });

  if (Array.isArray(discover))
    discover.forEach((entry, index) => {
      if (typeof entry !== 'object' || entry === null) return;
      const { units, siteId, host, port, idPrefix } = entry as Record<string, unknown>;
      const path = `/sunspec/discover/${index}`;
      checkSite(siteId, `${path}/siteId`);
      if (typeof units !== 'string' && !Array.isArray(units)) return;
      let list: number[];
      try {
        list = parseUnits(units as string | number[]);
      } catch (error) {
        at(`${path}/units`, (error as Error).message);
        return;
      }
      if (typeof idPrefix !== 'string' || typeof host !== 'string' || typeof port !== 'number') return;
      for (const unit of list) claim(`${idPrefix}${unit}`, sunspecAddress(host, port, unit), path, `${path}/idPrefix`);
    });
  return issues;
}
