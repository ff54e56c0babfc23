/**
 * The summary of a demo run, gathered from the real chain after the day: the gateway's store
 * (events, commands with their read-back, telemetry, charging sessions), the 2030.5 utility
 * server (the Responses clients posted), the OpenADR VTN (the reports VENs created), the compliance
 * the control engine reported while the events ran, and the edge's online/offline messages. The
 * scenario's own intentions are only used to name what to look for (which device had the outage).
 * The JSON shape (DemoSummary, version 1) is documented in docs/demo.md.
 */
import type { ResponseRecord } from '@gridseam/ieee2030-5';
import { type Command, type DeviceClass, eventEnd, eventStart, type ProgramEvent } from '@gridseam/model';
import type { EdgeRuntime } from '../edge/index.ts';
import { readSessions } from '../seams/ocpp-sessions.ts';
import type { SettlementDaySummary } from '../settlement/index.ts';
import { listAll } from '../store/list-all.ts';
import type { Store } from '../store/types.ts';
import type { PvAvailability } from './availability.ts';
import { DEMO_DAY_START_MS, formatTimeOfDay, type ScenarioClock } from './clock.ts';
import type { DemoCadence } from './config.ts';
import type { FleetPlan } from './fleet.ts';
import type { LiveTracker } from './live.ts';
import {
  type CommandOutcome,
  type ComplianceResult,
  type ComplianceTally,
  commandOutcome,
  confirmationLag,
  heldEnergyWh,
  type LagResult,
  round,
} from './measure.ts';
import type { DemoProfile, ScenarioPlan } from './scenario.ts';

export const SUMMARY_VERSION = 1;

export interface EventSummaryEntry {
  eventId: string;
  source: ProgramEvent['source'];
  externalId: string | null;
  programId: string;
  /** The event's first signal, as the gateway received it (W for limits). */
  signal: { kind: string; value: number; unit: string | null } | null;
  window: { start: string; end: string; startAt: number; endAt: number };
  status: ProgramEvent['status'];
  sites: number;
  /** 2030.5: the Responses the utility server holds for the control. */
  responses: { sent: number; byStatus: Record<string, number> } | null;
  /** OpenADR 3: the reports the VTN holds for the event. */
  reports: { sent: number } | null;
  commands: CommandOutcome;
  applied: boolean;
  confirmedByReadBack: boolean;
  compliance: ComplianceResult;
  /** Simulated Wh: PV below its available power (limits), battery discharge (import limits). */
  energy: { curtailedWh: number | null; shiftedWh: number | null };
  lag: LagResult;
}

export interface DemoSummary {
  version: typeof SUMMARY_VERSION;
  demo: {
    profile: DemoProfile;
    sites: number;
    speed: number;
    seed: number;
    simulated: { day: string; from: string; to: string };
    realSeconds: number;
    /** False when the run was stopped before its end (Ctrl-C). */
    complete: boolean;
  };
  devices: { total: number; online: number; byClass: Record<string, number> };
  events: { received: Record<string, number> & { total: number } };
  responses: { ieee2030_5: { sent: number; byStatus: Record<string, number> } };
  reports: { openadr3: { sent: number } };
  utilityControls: { received: number; applied: number; confirmedByReadBack: number };
  commands: { total: number; confirmed: number; failed: number; unconfirmed: number };
  energy: { curtailedWh: number; shiftedWh: number };
  perEvent: EventSummaryEntry[];
  outage: { deviceId: string; from: string; to: string; seenOffline: boolean; seenOnlineAgain: boolean };
  evs: { arrivals: number; sessions: number; energyWh: number };
  process: { peakRssBytes: number; cpuUserSeconds: number; cpuSystemSeconds: number };
  /** The run's real days settled through the ledger (SettlementService), summed. */
  settlement: DemoSettlement;
}

export interface DemoSettlement {
  timeZone: string;
  days: string[];
  meteredKwh: number;
  attributedKwh: number;
  revenueUsd: number;
  energyCostUsd: number;
  penaltyUsd: number;
  degradationUsd: number;
  netUsd: number;
  lines: number;
  gaps: number;
  /** Per program over the days: energy attributed (kWh, signed), revenue, wear. */
  programs: Array<{ programId: string; energyKwh: number; revenueUsd: number; degradationUsd: number }>;
  /** Why a day could not be settled, when one could not. */
  error?: string;
}

/** Sums settled days for the summary (money to the cent, energy to the Wh). */
export function demoSettlement(
  timeZone: string,
  days: readonly SettlementDaySummary[],
  error?: string,
): DemoSettlement {
  const round = (x: number, digits: number) => Number(x.toFixed(digits));
  const sum = (pick: (t: SettlementDaySummary['totals']) => number) => days.reduce((acc, d) => acc + pick(d.totals), 0);
  const programs = new Map<string, { energyKwh: number; revenueUsd: number; degradationUsd: number }>();
  for (const day of days)
    for (const p of day.programs) {
      const entry = programs.get(p.programId) ?? { energyKwh: 0, revenueUsd: 0, degradationUsd: 0 };
      entry.energyKwh += p.energyKwh;
      entry.revenueUsd += p.revenueUsd;
      entry.degradationUsd += p.degradationUsd;
      programs.set(p.programId, entry);
    }
  return {
    timeZone,
    days: days.map((d) => d.date),
    meteredKwh: round(
      sum((t) => t.meteredKwh),
      3,
    ),
    attributedKwh: round(
      sum((t) => t.attributedKwh),
      3,
    ),
    revenueUsd: round(
      sum((t) => t.revenueUsd),
      2,
    ),
    energyCostUsd: round(
      sum((t) => t.energyCostUsd),
      2,
    ),
    penaltyUsd: round(
      sum((t) => t.penaltyUsd),
      2,
    ),
    degradationUsd: round(
      sum((t) => t.degradationUsd),
      2,
    ),
    netUsd: round(
      sum((t) => t.netUsd),
      2,
    ),
    lines: sum((t) => t.lines),
    gaps: sum((t) => t.gaps),
    programs: [...programs]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([programId, p]) => ({
        programId,
        energyKwh: round(p.energyKwh, 3),
        revenueUsd: round(p.revenueUsd, 2),
        degradationUsd: round(p.degradationUsd, 2),
      })),
    ...(error !== undefined ? { error } : {}),
  };
}

export interface SummaryInputs {
  profile: DemoProfile;
  seed: number;
  clock: ScenarioClock;
  plan: FleetPlan;
  scenario: ScenarioPlan;
  cadence: DemoCadence;
  store: Store;
  edge: EdgeRuntime | undefined;
  /** What the utilities hold: the 2030.5 server's Responses to a control, the VTN's reports for an event. */
  utilities: {
    responses(mRID: string): Promise<ResponseRecord[]>;
    reportCount(eventId: string): Promise<number>;
  };
  compliance: ComplianceTally;
  live: LiveTracker;
  availability: PvAvailability;
  arrivals: number;
  complete: boolean;
  /** Real epoch ms the run ended. */
  endedAt: number;
  settlement: DemoSettlement;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** The sites an event applies to: its target sites, or (no targets) every site of the demo. */
function eventSites(event: ProgramEvent, plan: FleetPlan): FleetPlan['sites'] {
  const targeted = event.targets.siteIds;
  if (targeted === undefined || targeted.length === 0) return plan.sites;
  const ids = new Set(targeted);
  return plan.sites.filter((site) => ids.has(site.id));
}

async function powerSamples(store: Store, deviceId: string, fromMs: number, toMs: number) {
  const readings = await store.telemetry.query({
    deviceId,
    measurand: 'activePower',
    from: fromMs,
    to: toMs,
    limit: 100_000,
  });
  return readings.flatMap((r) => (typeof r.value === 'number' ? [{ at: r.ts, value: r.value }] : []));
}

/**
 * Energy the event moved, simulated Wh: for export and generation limits, PV below what its array
 * could give (the simulator's clear-sky physics) summed over the PV inverters; for import limits,
 * storage discharge (a hybrid's output above its PV) summed over the batteries and hybrids.
 */
/** Maps items through `work`, at most `limit` at a time, keeping the order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const QUERY_CONCURRENCY = 16;

async function eventEnergy(
  event: ProgramEvent,
  inputs: SummaryInputs,
  window: { fromMs: number; toMs: number },
): Promise<EventSummaryEntry['energy']> {
  const kind = event.intervals[0]?.signals[0]?.kind;
  const { clock, availability, store } = inputs;
  const maxHoldMs = 3 * inputs.cadence.pollMs;
  const sites = eventSites(event, inputs.plan);
  const from = window.fromMs - maxHoldMs;
  const sum = (values: number[]) =>
    round(
      values.reduce((a, b) => a + b, 0),
      1,
    );
  if (kind === 'exportLimit' || kind === 'generationLimit') {
    const perSite = await mapLimited(sites, QUERY_CONCURRENCY, async (site) =>
      heldEnergyWh(await powerSamples(store, site.pv.deviceId, from, window.toMs), window, {
        speed: clock.speed,
        maxHoldMs,
        counted: (s) => Math.max(0, availability.pvW(site, clock.simAt(s.at)) - s.value),
      }),
    );
    return { curtailedWh: sum(perSite), shiftedWh: null };
  }
  if (kind === 'importLimit' || kind === 'loadLimit') {
    const perSite = await mapLimited(sites, QUERY_CONCURRENCY, async (site) =>
      heldEnergyWh(await powerSamples(store, site.storage.deviceId, from, window.toMs), window, {
        speed: clock.speed,
        maxHoldMs,
        counted: (s) => Math.max(0, s.value - availability.storagePvW(site, clock.simAt(s.at))),
      }),
    );
    return { curtailedWh: null, shiftedWh: sum(perSite) };
  }
  return { curtailedWh: null, shiftedWh: null };
}

async function eventEntry(
  event: ProgramEvent,
  commands: readonly Command[],
  inputs: SummaryInputs,
): Promise<EventSummaryEntry> {
  const startAt = eventStart(event);
  const endAt = eventEnd(event);
  const signal = event.intervals[0]?.signals[0];
  const outcome = commandOutcome(commands);
  let responses: EventSummaryEntry['responses'] = null;
  let reports: EventSummaryEntry['reports'] = null;
  if (event.source === 'ieee2030.5' && event.externalId !== undefined) {
    const list = await inputs.utilities.responses(event.externalId);
    responses = { sent: list.length, byStatus: countBy(list, (r) => String(r.status)) };
  }
  if (event.source === 'openadr3' && event.externalId !== undefined)
    reports = { sent: await inputs.utilities.reportCount(event.externalId) };
  return {
    eventId: event.id,
    source: event.source,
    externalId: event.externalId ?? null,
    programId: event.programId,
    signal: signal === undefined ? null : { kind: signal.kind, value: signal.value, unit: signal.unit ?? null },
    window: {
      start: formatTimeOfDay(inputs.clock.simAt(startAt)),
      end: formatTimeOfDay(inputs.clock.simAt(endAt)),
      startAt,
      endAt,
    },
    status: event.status,
    sites: eventSites(event, inputs.plan).length,
    responses,
    reports,
    commands: outcome,
    applied: outcome.total > 0,
    confirmedByReadBack: outcome.confirmed > 0,
    compliance: inputs.compliance.result(event.id),
    energy: await eventEnergy(event, inputs, { fromMs: startAt, toMs: Math.min(endAt, inputs.endedAt) }),
    lag: confirmationLag(commands, startAt),
  };
}

async function chargingSessions(inputs: SummaryInputs): Promise<{ sessions: number; energyWh: number }> {
  const chargers = inputs.plan.sites.flatMap((site) => (site.charger === undefined ? [] : [site.charger.deviceId]));
  const lists = await mapLimited(chargers, QUERY_CONCURRENCY, (deviceId) => readSessions(inputs.store, deviceId));
  const all = lists.flat();
  return {
    sessions: all.length,
    energyWh: round(
      all.reduce((n, s) => n + (s.energyWh ?? 0), 0),
      1,
    ),
  };
}

export async function gatherSummary(inputs: SummaryInputs): Promise<DemoSummary> {
  const { store, clock, plan, scenario } = inputs;
  const events = (await listAll((page) => store.events.list(page))).filter(
    (e) => e.source === 'ieee2030.5' || e.source === 'openadr3',
  );
  events.sort((a, b) => eventStart(a) - eventStart(b));
  const commands = await listAll((page) => store.commands.list(page));
  const byRef = new Map<string, Command[]>();
  for (const command of commands) {
    const ref = command.setpoint.source.ref;
    if (ref === undefined) continue;
    const list = byRef.get(ref) ?? [];
    list.push(command);
    byRef.set(ref, list);
  }
  const perEvent: EventSummaryEntry[] = [];
  for (const event of events) perEvent.push(await eventEntry(event, byRef.get(event.id) ?? [], inputs));

  const eventCommands = perEvent.map((e) => e.commands);
  const sum = (pick: (c: CommandOutcome) => number) => eventCommands.reduce((n, c) => n + pick(c), 0);
  const sepResponses = perEvent.flatMap((e) => (e.responses === null ? [] : [e.responses]));
  const byStatus: Record<string, number> = {};
  for (const r of sepResponses)
    for (const [status, n] of Object.entries(r.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + n;

  const devices = await listAll((page) => store.devices.list(page));
  const edgeDevices = inputs.edge?.devices() ?? [];
  const online = edgeDevices.filter((d) => d.state === 'running' && d.health !== 'faulty').length;
  const outage = inputs.live.onlineHistory(scenario.outage.deviceId);
  const usage = process.resourceUsage();
  const sessions = await chargingSessions(inputs);
  const received = countBy(events, (e) => e.source);
  const endSim = clock.simAt(inputs.endedAt);
  return {
    version: SUMMARY_VERSION,
    demo: {
      profile: inputs.profile,
      sites: plan.sites.length,
      speed: clock.speed,
      seed: inputs.seed,
      simulated: {
        day: new Date(DEMO_DAY_START_MS).toISOString().slice(0, 10),
        from: formatTimeOfDay(clock.simStartMs),
        to: formatTimeOfDay(endSim),
      },
      realSeconds: round(clock.started ? (inputs.endedAt - (clock.realStartMs ?? inputs.endedAt)) / 1000 : 0, 1),
      complete: inputs.complete,
    },
    devices: {
      total: devices.length,
      online,
      byClass: countBy(devices, (d) => d.class as DeviceClass),
    },
    events: { received: { 'ieee2030.5': 0, openadr3: 0, ...received, total: events.length } },
    responses: {
      ieee2030_5: { sent: sepResponses.reduce((n, r) => n + r.sent, 0), byStatus },
    },
    reports: { openadr3: { sent: perEvent.reduce((n, e) => n + (e.reports?.sent ?? 0), 0) } },
    utilityControls: {
      received: perEvent.length,
      applied: perEvent.filter((e) => e.applied).length,
      confirmedByReadBack: perEvent.filter((e) => e.confirmedByReadBack).length,
    },
    commands: {
      total: sum((c) => c.total),
      confirmed: sum((c) => c.confirmed),
      failed: sum((c) => c.failed),
      unconfirmed: sum((c) => c.unconfirmed),
    },
    energy: {
      curtailedWh: round(
        perEvent.reduce((n, e) => n + (e.energy.curtailedWh ?? 0), 0),
        1,
      ),
      shiftedWh: round(
        perEvent.reduce((n, e) => n + (e.energy.shiftedWh ?? 0), 0),
        1,
      ),
    },
    perEvent,
    outage: {
      deviceId: scenario.outage.deviceId,
      from: formatTimeOfDay(DEMO_DAY_START_MS + scenario.outage.startOffsetMs),
      to: formatTimeOfDay(DEMO_DAY_START_MS + scenario.outage.endOffsetMs),
      seenOffline: outage.offlineAt !== undefined,
      seenOnlineAgain: outage.onlineAgainAt !== undefined,
    },
    evs: { arrivals: inputs.arrivals, ...sessions },
    process: {
      peakRssBytes: usage.maxRSS * 1024,
      cpuUserSeconds: round(usage.userCPUTime / 1e6, 2),
      cpuSystemSeconds: round(usage.systemCPUTime / 1e6, 2),
    },
    settlement: inputs.settlement,
  };
}

// ------------------------------------------------------------------ text

function settlementLine(settled: DemoSettlement): string {
  const head = `  settlement        ${settled.days.join(', ') || 'no day'} (${settled.timeZone})`;
  if (settled.error !== undefined) return `${head}: not settled (${settled.error})`;
  const programs = settled.programs
    .map((p) => `${p.programId} ${p.energyKwh.toFixed(3)} kWh $${p.revenueUsd.toFixed(2)}`)
    .join(', ');
  return `${head}: ${settled.meteredKwh.toFixed(3)} kWh metered, ${settled.attributedKwh.toFixed(3)} kWh to programs (${programs || 'none'}); revenue $${settled.revenueUsd.toFixed(2)}, energy bought $${settled.energyCostUsd.toFixed(2)}, wear $${settled.degradationUsd.toFixed(2)}, net $${settled.netUsd.toFixed(2)}; ${settled.lines} lines, ${settled.gaps} reconciliation gaps`;
}

const SOURCE_NAMES: Record<string, string> = { 'ieee2030.5': 'IEEE 2030.5', openadr3: 'OpenADR 3' };
const RESPONSE_NAMES: Record<string, string> = {
  '1': 'received',
  '2': 'started',
  '3': 'completed',
  '4': 'opted out',
  '5': 'opted out',
  '6': 'cancelled',
  '7': 'superseded',
  '252': 'cannot comply',
};

function kwh(wh: number | null): string {
  return wh === null ? '-' : `${(wh / 1000).toFixed(1)} kWh`;
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function watts(w: number | null): string {
  return w === null ? '-' : `${Math.round(w)} W`;
}

function eventLine(e: EventSummaryEntry): string[] {
  const signal =
    e.signal === null ? 'no signal' : `${e.signal.kind} ${Math.round(e.signal.value)} ${e.signal.unit ?? ''}`;
  const upstream =
    e.responses !== null
      ? `Responses ${e.responses.sent} (${Object.entries(e.responses.byStatus)
          .map(([s, n]) => `${RESPONSE_NAMES[s] ?? s} ${n}`)
          .join(', ')})`
      : `reports ${e.reports?.sent ?? 0}`;
  const c = e.compliance;
  const compliance =
    c.samples === 0
      ? 'compliance: no samples'
      : `compliance ${c.compliantPct}% of ${c.samples} site samples (target ${watts(c.targetW)}, mean delivered ${watts(c.meanDeliveredW)}, worst shortfall ${watts(c.maxShortfallW)})`;
  const energy =
    e.energy.curtailedWh !== null
      ? `curtailed ${kwh(e.energy.curtailedWh)}`
      : e.energy.shiftedWh !== null
        ? `shifted ${kwh(e.energy.shiftedWh)}`
        : '';
  return [
    `    ${SOURCE_NAMES[e.source] ?? e.source} ${signal.trim()} ${e.window.start}-${e.window.end}, ${e.status}, ${e.sites} sites`,
    `        ${upstream}; commands ${e.commands.confirmed}/${e.commands.total} confirmed by read-back on ${e.commands.devicesConfirmed}/${e.commands.devices} devices, ${e.commands.failed} failed; lag to confirmed p50 ${seconds(e.lag.p50Ms)}, max ${seconds(e.lag.maxMs)}`,
    `        ${compliance}${energy === '' ? '' : `; ${energy}`}`,
  ];
}

export function formatSummaryText(s: DemoSummary): string {
  const received = Object.entries(s.events.received)
    .filter(([source]) => source !== 'total')
    .map(([source, n]) => `${SOURCE_NAMES[source] ?? source} ${n}`)
    .join(', ');
  const responses = Object.entries(s.responses.ieee2030_5.byStatus)
    .map(([status, n]) => `${RESPONSE_NAMES[status] ?? status} ${n}`)
    .join(', ');
  const lines = [
    `gridseam demo summary: ${s.demo.sites} sites, ${s.demo.profile}, simulated ${s.demo.simulated.from}-${s.demo.simulated.to} of ${s.demo.simulated.day} at x${s.demo.speed} in ${s.demo.realSeconds} s${s.demo.complete ? '' : ' (stopped early)'}`,
    `  devices           ${s.devices.online}/${s.devices.total} online at the end (${Object.entries(s.devices.byClass)
      .map(([cls, n]) => `${cls} ${n}`)
      .join(', ')})`,
    `  events received   ${received}`,
    `  Responses sent    IEEE 2030.5: ${s.responses.ieee2030_5.sent}${responses === '' ? '' : ` (${responses})`}, as the utility server holds them`,
    `  reports sent      OpenADR 3: ${s.reports.openadr3.sent}, as the VTN holds them`,
    `  utility controls  ${s.utilityControls.received} received, ${s.utilityControls.applied} applied, ${s.utilityControls.confirmedByReadBack} confirmed by read-back`,
    `  commands          ${s.commands.total} issued: ${s.commands.confirmed} confirmed by read-back, ${s.commands.failed} failed, ${s.commands.unconfirmed} not confirmed (expired or superseded first)`,
    `  energy            curtailed ${kwh(s.energy.curtailedWh)} (PV below available under the limit), shifted ${kwh(s.energy.shiftedWh)} (storage discharge in the peak event)`,
    '  per event',
    ...s.perEvent.flatMap(eventLine),
    `  outage            ${s.outage.deviceId} off the network ${s.outage.from}-${s.outage.to}: gateway saw it offline ${s.outage.seenOffline ? 'yes' : 'no'}, back ${s.outage.seenOnlineAgain ? 'yes' : 'no'}`,
    `  EVs               ${s.evs.arrivals} arrived, ${s.evs.sessions} charging sessions, ${kwh(s.evs.energyWh)} delivered`,
    settlementLine(s.settlement),
    `  process           peak RSS ${(s.process.peakRssBytes / 1024 / 1024).toFixed(0)} MiB, CPU ${(s.process.cpuUserSeconds + s.process.cpuSystemSeconds).toFixed(1)} s (user ${s.process.cpuUserSeconds}, system ${s.process.cpuSystemSeconds})`,
  ];
  return `${lines.join('\n')}\n`;
}
