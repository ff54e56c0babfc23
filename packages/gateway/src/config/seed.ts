import type { Device, Group, Site } from '@gridseam/model';
import type { Logger } from 'pino';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import type { FleetGroup, GatewayConfig } from './schema.ts';

/** The actor recorded in the audit log for writes made from the configuration file. */
export const CONFIG_ACTOR = 'config';

export interface SeedResult {
  created: number;
  updated: number;
  unchanged: number;
  membershipsAdded: number;
  membershipsEnded: number;
}

/** JSON with sorted keys and without server-owned timestamps, to compare a seeded object with its stored copy. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (key, inner: unknown) => {
    if (key === 'createdAt' || key === 'updatedAt') return undefined;
    if (typeof inner === 'object' && inner !== null && !Array.isArray(inner)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(inner).sort()) sorted[k] = (inner as Record<string, unknown>)[k];
      return sorted;
    }
    return inner;
  });
}

function groupOf(fleetGroup: FleetGroup): Group {
  const { members: _members, ...group } = fleetGroup;
  return group;
}

/**
 * Creates or updates the sites, devices and groups of the configuration's fleet section, through
 * the registry so each write is validated and audited (actor 'config'). An object equal to its
 * stored copy is not written again, so a restart adds no audit noise. A group that lists its
 * `members` gets exactly those open memberships: missing ones are opened now, others are ended now.
 * Objects absent from the file are never deleted.
 */
export async function seedFleet(
  registry: FleetRegistry,
  store: Store,
  fleet: GatewayConfig['fleet'],
  logger?: Logger,
): Promise<SeedResult> {
  const result: SeedResult = { created: 0, updated: 0, unchanged: 0, membershipsAdded: 0, membershipsEnded: 0 };

  async function upsert<T extends { id: string }>(
    wanted: T,
    existing: T | undefined,
    create: (value: T) => Promise<unknown>,
    update: (value: T) => Promise<unknown>,
  ): Promise<void> {
    if (!existing) {
      await create(wanted);
      result.created++;
    } else if (canonical(existing) !== canonical(wanted)) {
      await update(wanted);
      result.updated++;
    } else {
      result.unchanged++;
    }
  }

  for (const site of fleet.sites as Site[])
    await upsert(
      site,
      await store.sites.get(site.id),
      (s) => registry.createSite(s, CONFIG_ACTOR),
      (s) => registry.updateSite(s, CONFIG_ACTOR),
    );
  for (const device of fleet.devices as Device[])
    await upsert(
      device,
      await store.devices.get(device.id),
      (d) => registry.createDevice(d, CONFIG_ACTOR),
      (d) => registry.updateDevice(d, CONFIG_ACTOR),
    );
  for (const fleetGroup of fleet.groups) {
    const group = groupOf(fleetGroup);
    await upsert(
      group,
      await store.groups.get(group.id),
      (g) => registry.createGroup(g, CONFIG_ACTOR),
      (g) => registry.updateGroup(g, CONFIG_ACTOR),
    );
    if (fleetGroup.members === undefined) continue;
    const wanted = new Set(fleetGroup.members);
    const open = new Set(
      (await store.memberships.list({ groupId: group.id }))
        .filter((m) => m.validTo === undefined)
        .map((m) => m.deviceId),
    );
    for (const deviceId of wanted)
      if (!open.has(deviceId)) {
        await registry.addMember(group.id, { deviceId }, CONFIG_ACTOR);
        result.membershipsAdded++;
      }
    for (const deviceId of open)
      if (!wanted.has(deviceId)) {
        await registry.endMember(group.id, deviceId, {}, CONFIG_ACTOR);
        result.membershipsEnded++;
      }
  }
  logger?.info({ seed: result }, 'fleet seeded from the configuration');
  return result;
}
