/**
 * The independent verifier of a ledger (whoever built it): per device-interval, no kWh or kW held
 * by two programs that do not stack, nothing of the meter left unaccounted, no entry against the
 * meter's sign, capacity within headroom, no (device, start, program) twice (notes §1.4).
 *
 * Shared stacked kWh counted once, from amounts alone: programs that do not stack must fit side
 * by side, so the heaviest set of mutually non-stacking entries (always including 'unattributed')
 * must fit within |E|, and all entries together must cover |E|. When nothing stacks the two
 * conditions reduce to sum |energy| == |E|.
 */
import { GridseamError } from '@gridseam/model';
import type { AttributionConflict, LedgerEntry, MeteredInterval, ProgramRule } from '../contract.ts';
import { DEFAULT_TOLERANCE_KWH, heaviestConflictSet, intervalKey, ProgramBook } from './shared.ts';
import { checkEntries, checkMetered, checkPrograms, checkTolerance, IssueList } from './validate.ts';

function when(start: number): string {
  return Number.isFinite(start) ? new Date(start).toISOString() : String(start);
}

function at(deviceId: string, start: number): string {
  return `${deviceId} at ${when(start)}`;
}

interface ProgramTotal {
  count: number;
  energy: number;
  capacity: number;
}

export function checkLedger(
  entries: readonly LedgerEntry[],
  metered: readonly MeteredInterval[],
  programs: readonly ProgramRule[],
  toleranceKwh: number = DEFAULT_TOLERANCE_KWH,
): AttributionConflict[] {
  const issues = new IssueList();
  checkEntries(issues, entries);
  checkMetered(issues, metered);
  checkPrograms(issues, programs);
  checkTolerance(issues, '/toleranceKwh', toleranceKwh);
  const meters = new Map<string, MeteredInterval>();
  metered.forEach((meter, index) => {
    const key = intervalKey(meter.deviceId, meter.start);
    if (meters.has(key))
      issues.add(`/metered/${index}`, `a second metered interval for ${meter.deviceId} at ${meter.start}`);
    meters.set(key, meter);
  });
  issues.throwIfAny('ledger check input');

  const book = new ProgramBook(programs);
  const tolerance = toleranceKwh;
  const groups = new Map<string, LedgerEntry[]>();
  for (const entry of entries) {
    const key = intervalKey(entry.deviceId, entry.start);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [entry]);
    else group.push(entry);
  }
  const conflicts: AttributionConflict[] = [];

  for (const [key, group] of groups) {
    const { deviceId, start } = group[0]!;
    const meter = meters.get(key);

    // Per program: how many entries, |energy| and kW (several entries of one program are a conflict).
    const totals = new Map<string, ProgramTotal>();
    let mismatchedLength = false;
    for (const entry of group) {
      const total = totals.get(entry.programId);
      if (total === undefined)
        totals.set(entry.programId, { count: 1, energy: Math.abs(entry.energyKwh), capacity: entry.capacityKw });
      else {
        total.count++;
        total.energy += Math.abs(entry.energyKwh);
        total.capacity += entry.capacityKw;
      }
      if (meter !== undefined && entry.intervalMinutes !== meter.intervalMinutes) mismatchedLength = true;
    }
    const energyWeights: Array<{ programId: string; weight: number }> = [];
    const capacityWeights: Array<{ programId: string; weight: number }> = [];
    let covered = 0;
    let heldEnergy = 0;
    let heldCapacity = 0;
    for (const [programId, total] of totals) {
      energyWeights.push({ programId, weight: total.energy });
      capacityWeights.push({ programId, weight: total.capacity });
      covered += total.energy;
      heldEnergy += total.energy;
      heldCapacity += total.capacity;
      if (total.count > 1)
        conflicts.push({
          deviceId,
          start,
          kind: 'energy',
          programs: new Array<string>(total.count).fill(programId),
          quantity: total.energy,
          limit: 0,
          message: `${programId} appears ${total.count} times for ${at(deviceId, start)}`,
        });
    }

    if (meter === undefined || mismatchedLength) {
      if (heldEnergy > tolerance || heldCapacity > tolerance) {
        const programs: string[] = [];
        for (const entry of group)
          if (Math.abs(entry.energyKwh) > tolerance || entry.capacityKw > tolerance) programs.push(entry.programId);
        conflicts.push({
          deviceId,
          start,
          kind: 'metered',
          programs,
          quantity: heldEnergy,
          limit: 0,
          message:
            meter === undefined
              ? `entries for ${at(deviceId, start)} have no metered interval`
              : `entries for ${at(deviceId, start)} do not match the ${meter.intervalMinutes} min metered interval`,
        });
      }
      continue;
    }

    const energy = meter.energyKwh;
    const metered = Math.abs(energy);
    for (const entry of group) {
      const against = entry.energyKwh * energy < 0 || energy === 0;
      if (against && Math.abs(entry.energyKwh) > tolerance)
        conflicts.push({
          deviceId,
          start,
          kind: 'energy',
          programs: [entry.programId],
          quantity: Math.abs(entry.energyKwh),
          limit: 0,
          message: `${entry.programId} holds ${entry.energyKwh} kWh for ${at(deviceId, start)} but the meter measured ${energy} kWh`,
        });
    }

    const heaviest = heaviestConflictSet(energyWeights, book);
    if (heaviest.weight > metered + tolerance)
      conflicts.push({
        deviceId,
        start,
        kind: 'energy',
        programs: heaviest.programs,
        quantity: heaviest.weight,
        limit: metered,
        message: `${heaviest.programs.join(', ')} (not stacking) together hold ${heaviest.weight} kWh of the ${metered} kWh metered for ${at(deviceId, start)}`,
      });
    if (covered < metered - tolerance) {
      const programs: string[] = [];
      for (const item of energyWeights) programs.push(item.programId);
      conflicts.push({
        deviceId,
        start,
        kind: 'energy',
        programs,
        quantity: covered,
        limit: metered,
        message: `the ledger accounts for ${covered} kWh of the ${metered} kWh metered for ${at(deviceId, start)}`,
      });
    }

    // Capacity: the heaviest non-stacking set plus the power the energy used must fit the headroom.
    if (heldCapacity > 0) {
      const used = metered / (meter.intervalMinutes / 60);
      const capacity = heaviestConflictSet(capacityWeights, book);
      if (capacity.weight + used > meter.headroomKw + tolerance)
        conflicts.push({
          deviceId,
          start,
          kind: 'capacity',
          programs: capacity.programs,
          quantity: capacity.weight,
          limit: Math.max(0, meter.headroomKw - used),
          message: `${capacity.programs.join(', ')} hold ${capacity.weight} kW of ${at(deviceId, start)} with ${used} kW used by energy and ${meter.headroomKw} kW headroom`,
        });
    }
  }

  // Metered energy that no entry accounts for at all.
  for (const [key, meter] of meters) {
    if (groups.has(key) || Math.abs(meter.energyKwh) <= tolerance) continue;
    conflicts.push({
      deviceId: meter.deviceId,
      start: meter.start,
      kind: 'energy',
      programs: [],
      quantity: 0,
      limit: Math.abs(meter.energyKwh),
      message: `${meter.energyKwh} kWh metered for ${meter.deviceId} at ${when(meter.start)} has no ledger entry`,
    });
  }

  return conflicts.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.start - b.start));
}

/** checkLedger, throwing GW_ERR_DOUBLE_ATTRIBUTION with every conflict in details.conflicts. */
export function assertNoDoubleAttribution(
  entries: readonly LedgerEntry[],
  metered: readonly MeteredInterval[],
  programs: readonly ProgramRule[],
  toleranceKwh?: number,
): void {
  const conflicts = checkLedger(entries, metered, programs, toleranceKwh);
  if (conflicts.length > 0)
    throw new GridseamError(
      'GW_ERR_DOUBLE_ATTRIBUTION',
      `${conflicts.length} attribution conflict${conflicts.length === 1 ? '' : 's'}: ${conflicts[0]!.message}`,
      { details: { conflicts } },
    );
}
