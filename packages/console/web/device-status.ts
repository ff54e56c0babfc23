/**
 * What the device list shows per device beyond the registry entry: online/offline, operating
 * state, power and SoC. All of it comes from GET /api/devices/status, which applies the fleet
 * summary's rules, so the list and the overview count the same devices offline. The live feed's
 * `device.state` and `telemetry` messages keep the rows on screen current between reloads.
 */
import { getAll } from './api.ts';
import type { DeviceStatus, FleetSummary, LiveMessage } from './types.ts';

export type StatusMap = ReadonlyMap<string, DeviceStatus>;

/** Reload the statuses at least this often while the list is open, even when the counts stay put. */
export const STATUS_RELOAD_MS = 30_000;

/** Every device's status, 1000 per request. */
export async function loadStatuses(): Promise<Map<string, DeviceStatus>> {
  const statuses = await getAll<DeviceStatus>('/api/devices/status');
  return new Map(statuses.map((status) => [status.deviceId, status]));
}

/** The operating state the list shows and filters on: the overview's `unknown` when none was reported. */
export function operatingLabel(status: DeviceStatus | undefined): string {
  return status?.operatingState ?? 'unknown';
}

/** What of a summary changes when a device goes online or offline or changes state. */
export function countsKey(summary: FleetSummary): string {
  const { online, offline, byState } = summary.devices;
  const states = Object.entries(byState).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([online, offline, states]);
}

/** A live message applied to the statuses of the devices already known; the same map when nothing changed. */
export function applyLive(statuses: StatusMap, message: LiveMessage): StatusMap {
  if (message.type === 'device.state') {
    const current = statuses.get(message.deviceId);
    if (current === undefined) return statuses;
    const online =
      message.online ?? (message.state === 'online' ? true : message.state === 'offline' ? false : undefined);
    const next = new Map(statuses);
    next.set(message.deviceId, {
      ...current,
      ...(online !== undefined ? { online, state: online ? 'online' : 'offline' } : {}),
      ...(message.operatingState !== undefined ? { operatingState: message.operatingState } : {}),
      lastSeenAt: online === true ? Math.max(current.lastSeenAt ?? 0, message.at) : current.lastSeenAt,
    });
    return next;
  }
  if (message.type === 'telemetry') {
    let next: Map<string, DeviceStatus> | undefined;
    for (const reading of message.readings) {
      if (reading.phase !== undefined) continue;
      const current = next?.get(reading.deviceId) ?? statuses.get(reading.deviceId);
      if (current === undefined) continue;
      const updated = { ...current, lastSeenAt: Math.max(current.lastSeenAt ?? 0, reading.at) };
      if (reading.measurand === 'operatingState' && typeof reading.value === 'string')
        updated.operatingState = reading.value;
      if (reading.measurand === 'activePower' && typeof reading.value === 'number')
        updated.activePowerW = reading.value;
      if (reading.measurand === 'stateOfCharge' && typeof reading.value === 'number')
        updated.socPct = Math.min(100, Math.max(0, reading.value));
      next ??= new Map(statuses);
      next.set(reading.deviceId, updated);
    }
    return next ?? statuses;
  }
  return statuses;
}
