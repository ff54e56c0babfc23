/**
 * DispatchScheduler: the rolling horizon of issue 9. It re-plans the enrolled batteries of one
 * dispatch program every cadence and on events, solves in a worker thread (DispatchWorker: the
 * same model re-solved warm while only prices, SoC or bounds change; never on the main thread),
 * and hands the first intervals of each plan to the control engine as that program's events.
 *
 * A plan, step by step:
 * 1. horizon: `horizonIntervals` intervals from now; prices from the price source (prices.ts, with
 *    OpenADR price signals over the time they cover); the horizon ends where the prices do; with a
 *    time scale (timescale.ts) the intervals and prices are simulated time, the rest real;
 * 2. batteries (request.ts): the program's enrolled batteries with a fresh SoC; the others left out
 *    with their reason;
 * 3. controls of higher precedence (overrides.ts): utility events, operator overrides and manual
 *    setpoints on a battery fix or bound its power where they are in force, so the plan is solved
 *    around them; if fixed powers make it infeasible they are loosened to bounds once;
 *    then baseline adjustment windows (baseline-windows.ts, `baselineProtection`): no net charging
 *    of a battery in the hours a DR baseline's day-of adjustment reads before an event at its site,
 *    except where a control of higher precedence forces charging; dropped if they alone make the
 *    plan infeasible;
 * 4. solve; an infeasible request (GW_ERR_INFEASIBLE with the optimiser's diagnosis) is stored as
 *    a failed plan and logged once (until the failure changes); the previous plan's events are
 *    left to run out at their end, never renewed;
 * 5. events: one event per battery (source 'market', the program's primacy, a fixedW signal per
 *    interval = planned net discharge, generator convention) carrying the first
 *    `setpointIntervals` intervals, updated in place by each plan while it is live (no pile-up;
 *    a new one only when the previous one has ended);
 * 6. the plan document and a compact history entry are stored (plan-store.ts).
 *
 * Re-plans come from: the cadence; 'program.event' of other programs; an outcome 'not-applied'
 * of a dispatch event (a control of higher precedence won over the battery); a planned battery
 * going offline or a left-out one coming back; a SoC reading `socDeviationPct` away from the
 * plan, or the first fresh SoC of a battery left out for want of one; new OpenADR prices. Events
 * are collapsed and spaced by `minReplanMs`.
 */
import { createHash } from 'node:crypto';
import { DispatchWorker, type Plan, type PlanRequest, type PowerWindow } from '@gridseam/dispatch';
import { type Device, type Enrolment, GridseamError, type ProgramEvent, type Signal, type Site } from '@gridseam/model';
import type { Logger } from 'pino';
import type { Bus, BusMessage, DeviceStateMessage, Subscription } from '../bus/types.ts';
import type { ControlEngine, EventOutcome } from '../control/engine.ts';
import { eventIntents, LIVE_EVENT_STATUSES } from '../control/intents.ts';
import type { ControlIntent } from '../control/types.ts';
import { type EdgeClock, systemClock } from '../edge/clock.ts';
import type { FleetRegistry } from '../registry/index.ts';
import { ensureEnrolment, upsertProgram } from '../seams/registry-writes.ts';
import { listAll } from '../store/list-all.ts';
import type { Store } from '../store/types.ts';
import {
  type BaselineWindows,
  baselineLookaheadMs,
  baselineWindows,
  protectedEvents,
  protectedGroupIds,
} from './baseline-windows.ts';
import { failedDocument, historyEntry, type PlanFacts, planDocument } from './documents.ts';
import { batteryControls, fitFirstWindowToEnergy, windowsFor } from './overrides.ts';
import type { DispatchPlanStore } from './plan-store.ts';
import type { ExternalPricePoint, PriceSource } from './prices.ts';
import { type BatteryCandidate, buildPlanRequest, enrolledBatteries, type TimedValue } from './request.ts';
import type { DispatchSettings } from './settings.ts';
import { eventWindows, type PlanTimeline, planTimeline, simulatedPricePoints } from './timescale.ts';
import type { DispatchPlanDocument, OverrideWindow, PlannedBattery } from './types.ts';

/** Who the audit log names for the scheduler's writes. */
export const DISPATCH_ACTOR = 'dispatch';
const ID_MAX = 128;

/** What the scheduler needs of the control engine. */
export type DispatchEngine = Pick<ControlEngine, 'submitEvent' | 'decisions' | 'overrides' | 'on' | 'staleAfterMs'>;

export interface DispatchSchedulerOptions {
  settings: DispatchSettings;
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  engine: DispatchEngine;
  plans: DispatchPlanStore;
  prices: PriceSource;
  /** OpenADR price signals in force (the OpenADR 3 seam's prices). */
  externalPrices?: () => readonly ExternalPricePoint[];
  /** The edge's view of a device (false: faulty); combined with 'device.state' on the bus. */
  isOnline?: (deviceId: string) => boolean | undefined;
  logger?: Logger;
  clock?: EdgeClock;
  /** What plans (tests); by default the scheduler starts a DispatchWorker and closes it. */
  worker?: Pick<DispatchWorker, 'plan' | 'close'>;
}

/** A valid id from parts, hashed when too long. */
function idOf(...parts: string[]): string {
  const id = parts.join(':');
  if (id.length <= ID_MAX) return id;
  return `${parts[0]?.slice(0, 40)}:${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

function errorFacts(error: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  if (GridseamError.is(error))
    return { code: error.code, message: error.message, ...(error.details ? { details: { ...error.details } } : {}) };
  return { code: 'GW_ERR_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** Fixed powers loosened to bounds between 0 and the fixed value (what the utility demands at most). */
function relaxed(request: PlanRequest): PlanRequest {
  return {
    ...request,
    batteries: request.batteries.map((battery) =>
      battery.powerWindows === undefined
        ? battery
        : {
            ...battery,
            powerWindows: battery.powerWindows.map((w) => {
              if (w.minNetDischargeKw === undefined || w.minNetDischargeKw !== w.maxNetDischargeKw) return w;
              const kw = w.minNetDischargeKw;
              return { ...w, minNetDischargeKw: Math.min(0, kw), maxNetDischargeKw: Math.max(0, kw) };
            }),
          },
    ),
  };
}

/** The request without the given (baseline) power windows, matched by identity. */
function withoutWindows(request: PlanRequest, windows: ReadonlySet<PowerWindow>): PlanRequest {
  return {
    ...request,
    batteries: request.batteries.map((battery) => {
      if (battery.powerWindows === undefined) return battery;
      const { powerWindows, ...rest } = battery;
      const kept = powerWindows.filter((w) => !windows.has(w));
      return kept.length > 0 ? { ...rest, powerWindows: kept } : rest;
    }),
  };
}

interface Trajectory {
  times: number[];
  socPct: number[];
}

export class DispatchScheduler {
  readonly settings: DispatchSettings;
  readonly #options: DispatchSchedulerOptions;
  readonly #clock: EdgeClock;
  readonly #logger: Logger | undefined;
  readonly #worker: Pick<DispatchWorker, 'plan' | 'close'>;
  readonly #ownsWorker: boolean;
  readonly #subscriptions: Subscription[] = [];
  #stopOutcomes: (() => void) | undefined;

  /** Battery -> its live dispatch event id. */
  readonly #eventIds = new Map<string, string>();
  readonly #offline = new Set<string>();
  /** SoC readings seen on the bus, newer than the store may hold yet. */
  readonly #soc = new Map<string, TimedValue>();
  #trajectories = new Map<string, Trajectory>();
  /** Batteries the last plan left out, and why. */
  #leftOut = new Map<string, string>();

  readonly #pending = new Set<string>();
  #timer: unknown;
  #timerAt = Number.POSITIVE_INFINITY;
  #nextCadenceAt = Number.POSITIVE_INFINITY;
  #lastPlanAt = Number.NEGATIVE_INFINITY;
  #running: Promise<DispatchPlanDocument | undefined> | undefined;
  #seq = 0;
  #lastFailure: string | undefined;
  /** The events whose baseline windows were last dropped (logged once per set). */
  #lastDropped = '';
  #started = false;
  #closed = false;
  readonly #listeners = new Set<(plan: DispatchPlanDocument) => void>();

  constructor(options: DispatchSchedulerOptions) {
    this.#options = options;
    this.settings = options.settings;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#ownsWorker = options.worker === undefined;
    this.#worker = options.worker ?? new DispatchWorker({ maxModels: 2 });
  }

  // ------------------------------------------------------------------ life cycle

  /** Ensures the program and the configured enrolments, listens for events, and plans at once. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { store, registry, bus, engine, plans } = this.#options;
    const { settings } = this;
    await plans.load();
    await upsertProgram(
      store,
      registry,
      {
        id: settings.programId,
        name: settings.programName,
        kind: 'wholesale-market',
        source: 'market',
        primacy: settings.primacy,
        description: 'Rolling-horizon battery dispatch: the first intervals of each plan (docs/dispatch-engine.md)',
      },
      DISPATCH_ACTOR,
    );
    await this.#ensureEnrolments();
    for (const status of LIVE_EVENT_STATUSES)
      for (const event of await listAll((page) =>
        store.events.list({ ...page, programId: settings.programId, status }),
      ))
        for (const deviceId of event.targets.deviceIds ?? []) this.#eventIds.set(deviceId, event.id);
    this.#subscriptions.push(
      await bus.subscribe('program.event', (message) => this.#onProgramEvent(message)),
      await bus.subscribe('device.state', (message) => this.#onDeviceState(message)),
      await bus.subscribe('telemetry', (message) => this.#onTelemetry(message.payload.readings)),
    );
    this.#stopOutcomes = engine.on('outcome', (outcome) => this.#onOutcome(outcome));
    this.trigger('start');
  }

  /** Stops planning; the events already written run out at their end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopOutcomes?.();
    await Promise.allSettled(this.#subscriptions.splice(0).map((s) => s.close()));
    await this.#running?.catch(() => undefined);
    if (this.#ownsWorker) await this.#worker.close();
  }

  /** Called with every stored plan (ok or failed). Returns the function that stops listening. */
  onPlan(listener: (plan: DispatchPlanDocument) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Asks for a re-plan: at once for the cadence, else no sooner than minReplanMs after the last plan. */
  trigger(reason: string): void {
    if (this.#closed || !this.#started) return;
    this.#pending.add(reason);
    this.#schedule();
  }

  /** Plans now (after a plan in progress) and resolves with the stored plan. */
  async replan(reason = 'request'): Promise<DispatchPlanDocument | undefined> {
    await this.#running?.catch(() => undefined);
    this.#pending.add(reason);
    return this.#run();
  }

  // ------------------------------------------------------------------ timing

  #schedule(): void {
    if (this.#closed || this.#running !== undefined) return;
    const now = this.#clock.now();
    const eventAt =
      this.#pending.size === 0
        ? Number.POSITIVE_INFINITY
        : this.#pending.has('start') || this.#pending.has('cadence')
          ? now
          : Math.max(now, this.#lastPlanAt + this.settings.minReplanMs);
    const at = Math.min(eventAt, this.#nextCadenceAt);
    if (at === Number.POSITIVE_INFINITY || (this.#timer !== undefined && this.#timerAt <= at)) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        // A timer may fire a millisecond early: with nothing else pending it is the cadence's.
        if (this.#pending.size === 0 || this.#clock.now() >= this.#nextCadenceAt) this.#pending.add('cadence');
        void this.#run();
      },
      Math.max(0, at - now),
    );
  }

  #run(): Promise<DispatchPlanDocument | undefined> {
    if (this.#closed) return Promise.resolve(undefined);
    if (this.#running) return this.#running;
    // This plan takes every pending reason; the timer is armed again when it ends.
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const triggers = [...this.#pending].sort();
    this.#pending.clear();
    const now = this.#clock.now();
    this.#lastPlanAt = now;
    this.#nextCadenceAt = now + this.settings.cadenceMs;
    const running = this.#cycle(triggers.length > 0 ? triggers : ['request'], now)
      .catch((error: unknown) => {
        this.#logger?.error({ err: error }, 'dispatch plan failed');
        return undefined;
      })
      .finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    this.#running = running;
    return running;
  }

  // ------------------------------------------------------------------ one plan

  async #cycle(triggers: string[], now: number): Promise<DispatchPlanDocument> {
    const { settings } = this;
    const { store, engine } = this.#options;
    // Real instants for the gateway, simulated ones for the optimiser and the prices (timescale.ts).
    const timeline = planTimeline(now, settings.horizonIntervals, settings.intervalMs, settings.timeScale);
    const prices = this.#options.prices.prices(
      timeline.simulatedStarts,
      settings.intervalMs,
      settings.openadrPrices ? simulatedPricePoints(this.#options.externalPrices?.() ?? [], timeline) : [],
    );
    const [devices, enrolments, sites] = await Promise.all([
      listAll((page) => store.devices.list(page)),
      listAll((page) => store.enrolments.list({ ...page, programId: settings.programId })),
      listAll((page) => store.sites.list(page)),
    ]);
    const siteById = new Map<string, Site>(sites.map((s) => [s.id, s]));
    const enrolled = enrolledBatteries(settings.programId, devices, enrolments, now);
    const candidates: BatteryCandidate[] = [];
    for (const { device, enrolment } of enrolled.batteries)
      candidates.push({
        device,
        enrolment,
        ...(siteById.has(device.siteId) ? { site: siteById.get(device.siteId) as Site } : {}),
        online: this.#isOnline(device.id),
        readings: await this.#readings(device.id),
        staleAfterMs: settings.socStaleMs ?? engine.staleAfterMs(device.id),
      });
    const built = buildPlanRequest({ now, settings, starts: timeline.simulatedStarts, prices, candidates });
    built.leftOut.unshift(...enrolled.leftOut);
    this.#leftOut = new Map(built.leftOut.map((l) => [l.deviceId, l.reason]));

    const overrides = new Map<string, OverrideWindow[]>();
    const baseline: BaselineWindows = { powerWindows: new Map(), records: [] };
    if (built.request.batteries.length > 0 && built.request.starts.length > 0)
      await this.#applyControls(built.request, timeline, built.batteries, devices, now, overrides, baseline);
    const facts: PlanFacts = {
      id: `plan-${now}-${++this.#seq}`,
      createdAt: now,
      triggers,
      programId: settings.programId,
      primacy: settings.primacy,
      request: built.request,
      requestedIntervals: settings.horizonIntervals,
      intervalMs: settings.intervalMs,
      timeline,
      priceSource: this.#options.prices.description,
      prices,
      batteries: built.batteries,
      leftOut: built.leftOut,
      overrides,
      overridesRelaxed: false,
      stress: settings.stress,
    };
    const doc = await this.#solve(facts, baseline);
    if (baseline.records.length > 0) doc.baselineWindows = baseline.records;
    if (doc.status === 'ok') await this.#submitEvents(doc, timeline);
    await this.#options.plans.save(doc, historyEntry(doc));
    this.#remember(doc);
    for (const listener of this.#listeners)
      try {
        listener(doc);
      } catch (error) {
        this.#logger?.warn({ err: error }, 'dispatch plan listener failed');
      }
    return doc;
  }

  /**
   * Solves, and while infeasible loosens in turn: fixed overrides to bounds, then the baseline
   * windows dropped (a protection rule never stops dispatch); a failure becomes a failed plan.
   */
  async #solve(facts: PlanFacts, baseline?: BaselineWindows): Promise<DispatchPlanDocument> {
    if (facts.request.starts.length === 0)
      return this.#failed(facts, {
        code: 'GW_ERR_NOT_FOUND',
        message: `no prices cover the horizon from ${horizonStartText(facts.timeline)} (${facts.priceSource})`,
      });
    if (facts.request.batteries.length === 0) {
      this.#recovered();
      return planDocument(facts, emptyPlan());
    }
    let plan: Plan | undefined;
    let baselineDropped = false;
    try {
      plan = await this.#worker.plan(facts.request, { key: this.settings.programId });
    } catch (error) {
      let failure = errorFacts(error);
      const fixed = facts.request.batteries.some((b) =>
        b.powerWindows?.some((w) => w.minNetDischargeKw === w.maxNetDischargeKw),
      );
      const protectedWindows = new Set(baseline === undefined ? [] : [...baseline.powerWindows.values()].flat());
      const loosen: Array<() => void> = [];
      if (fixed)
        loosen.push(() => {
          facts.request = relaxed(facts.request);
          facts.overridesRelaxed = true;
        });
      if (protectedWindows.size > 0)
        loosen.push(() => {
          facts.request = withoutWindows(facts.request, protectedWindows);
          baselineDropped = true;
        });
      for (const step of loosen) {
        if (failure.code !== 'GW_ERR_INFEASIBLE') break;
        step();
        try {
          plan = await this.#worker.plan(facts.request, { key: this.settings.programId });
          break;
        } catch (again) {
          failure = errorFacts(again);
        }
      }
      if (plan === undefined) {
        const failed = this.#failed(facts, failure);
        if (baselineDropped) failed.baselineWindowsDropped = true;
        return failed;
      }
    }
    this.#recovered();
    const doc = planDocument(facts, plan);
    if (baselineDropped) doc.baselineWindowsDropped = true;
    const dropped = baselineDropped ? [...new Set(baseline?.records.map((r) => r.eventId))].sort().join(',') : '';
    if (dropped !== '' && dropped !== this.#lastDropped)
      this.#logger?.warn(
        { planId: facts.id, eventIds: dropped.split(',') },
        'dispatch plan infeasible with the baseline adjustment windows: solved without them',
      );
    this.#lastDropped = dropped;
    return doc;
  }

  #failed(facts: PlanFacts, error: { code: string; message: string; details?: Record<string, unknown> }) {
    const failure: NonNullable<DispatchPlanDocument['failure']> = { code: error.code, message: error.message };
    if (error.code === 'GW_ERR_INFEASIBLE' && error.details !== undefined)
      failure.diagnosis = error.details as unknown as NonNullable<typeof failure.diagnosis>;
    const key = `${failure.code}|${failure.message}`;
    if (this.#lastFailure !== key) {
      this.#lastFailure = key;
      this.#logger?.warn(
        { code: failure.code, diagnosis: failure.diagnosis, planId: facts.id },
        `dispatch plan failed: ${failure.message}; the previous plan's events run out at their end`,
      );
    }
    return failedDocument(facts, failure);
  }

  #recovered(): void {
    if (this.#lastFailure === undefined) return;
    this.#lastFailure = undefined;
    this.#logger?.info('dispatch planning recovered');
  }

  /** Controls of higher precedence as power windows on the request's batteries (overrides.ts). */
  async #applyControls(
    request: PlanRequest,
    timeline: PlanTimeline,
    batteries: PlannedBattery[],
    devices: readonly Device[],
    now: number,
    out: Map<string, OverrideWindow[]>,
    baseline: BaselineWindows,
  ): Promise<void> {
    const { store, engine } = this.#options;
    const { settings } = this;
    // Controls are real-time: the request's intervals on the real clock.
    const intervals = request.starts.length;
    const realStarts = timeline.realBounds.slice(0, intervals);
    const horizonEnd = timeline.realBounds[intervals] as number;
    const live: ProgramEvent[] = [];
    for (const status of LIVE_EVENT_STATUSES)
      live.push(...(await listAll((page) => store.events.list({ ...page, status, from: now, to: horizonEnd }))));
    const ownEventIds = new Set(this.#eventIds.values());
    for (const event of live) if (event.programId === settings.programId) ownEventIds.add(event.id);
    const allEnrolments: Enrolment[] = await listAll((page) => store.enrolments.list(page));
    const intents: ControlIntent[] = [...engine.overrides()];
    for (const event of live)
      if (event.programId !== settings.programId) intents.push(...eventIntents(event, allEnrolments, now));
    const groupMembers = new Map<string, ReadonlySet<string>>();
    for (const intent of intents)
      if (intent.scope.kind === 'group' && !groupMembers.has(intent.scope.id))
        groupMembers.set(intent.scope.id, new Set(await store.memberships.membersAt(intent.scope.id, now)));
    const maxW = new Map(devices.map((d) => [d.id, d.capabilities.ratings?.maxW]));
    const controls = batteryControls({
      now,
      horizonEnd,
      dispatchPrimacy: settings.primacy,
      ownEventIds,
      batteries: batteries.map((b) => ({ deviceId: b.deviceId, siteId: b.siteId, maxW: maxW.get(b.deviceId) })),
      intents,
      groupMembers,
      decisions: engine.decisions(),
    });
    // The energy a fixed power moves: simulated hours, as the battery's physics runs.
    const hours = settings.intervalMs / 3_600_000;
    batteries.forEach((battery, index) => {
      const mine = controls.filter((c) => c.deviceId === battery.deviceId);
      if (mine.length === 0) return;
      const windows = windowsFor(mine, realStarts, timeline.realIntervalMs);
      if (windows.powerWindows.length === 0) return;
      const usable = battery.usableKwh;
      const params = request.batteries[index];
      if (params === undefined) return;
      params.powerWindows = fitFirstWindowToEnergy(
        windows.powerWindows,
        {
          initialKwh: (battery.soc0Pct / 100) * usable,
          floorKwh: (battery.socMinPct / 100) * usable,
          ceilingKwh: (battery.socMaxPct / 100) * usable,
          etaCharge: battery.etaCharge,
          etaDischarge: battery.etaDischarge,
        },
        hours,
      );
      out.set(battery.deviceId, windows.overrides);
    });
    if (!settings.baselineProtection.enabled) return;
    const found = await this.#baselineWindows(request, timeline, batteries, devices, now, allEnrolments, groupMembers);
    batteries.forEach((battery, index) => {
      const windows = found.powerWindows.get(battery.deviceId);
      const params = request.batteries[index];
      if (windows === undefined || params === undefined) return;
      // After the override windows, which keep the intervals where they force charging (skipped there).
      params.powerWindows = [...(params.powerWindows ?? []), ...windows];
    });
    baseline.powerWindows = found.powerWindows;
    baseline.records.push(...found.records);
  }

  /** Baseline adjustment windows on the request's batteries (baseline-windows.ts), real time. */
  async #baselineWindows(
    request: PlanRequest,
    timeline: PlanTimeline,
    batteries: PlannedBattery[],
    devices: readonly Device[],
    now: number,
    enrolments: readonly Enrolment[],
    groupMembers: Map<string, ReadonlySet<string>>,
  ): Promise<BaselineWindows> {
    const { store } = this.#options;
    const { settings } = this;
    const rule = settings.baselineProtection;
    const intervals = request.starts.length;
    const bounds = timeline.realBounds.slice(0, intervals + 1);
    const horizonEnd = bounds[intervals] as number;
    // An event up to (gap + window + 1) h after the horizon has its window inside it.
    const to = horizonEnd + baselineLookaheadMs(rule);
    const events: ProgramEvent[] = [];
    for (const status of LIVE_EVENT_STATUSES)
      events.push(...(await listAll((page) => store.events.list({ ...page, status, from: now, to }))));
    const programs = new Map((await listAll((page) => store.programs.list(page))).map((p) => [p.id, p]));
    const excludeProgramIds = new Set([settings.programId]);
    const relevant = protectedEvents({ now, horizonEnd, rule, events, programs, excludeProgramIds });
    if (relevant.length === 0) return { powerWindows: new Map(), records: [] };
    for (const groupId of protectedGroupIds(relevant))
      if (!groupMembers.has(groupId))
        groupMembers.set(groupId, new Set(await store.memberships.membersAt(groupId, now)));
    const overrides = new Map<string, readonly PowerWindow[]>();
    batteries.forEach((battery, index) => {
      const windows = request.batteries[index]?.powerWindows;
      if (windows !== undefined) overrides.set(battery.deviceId, windows);
    });
    return baselineWindows({
      now,
      horizonEnd,
      rule,
      events: relevant.map((w) => w.event),
      programs,
      excludeProgramIds,
      enrolments,
      groupMembers,
      deviceSites: new Map(devices.map((d) => [d.id, d.siteId])),
      batteries,
      bounds,
      overrides,
    });
  }

  /** One event per planned battery with the plan's first intervals (updated in place while live). */
  async #submitEvents(doc: DispatchPlanDocument, timeline: PlanTimeline): Promise<void> {
    const { settings } = this;
    const { store, engine } = this.#options;
    const count = Math.min(settings.setpointIntervals, doc.horizon.intervals);
    // Real starts and whole-second durations, back to back (timescale.ts eventWindows).
    const windows = eventWindows(timeline, count);
    for (const battery of doc.batteries) {
      // The plan's energy price rides along (not a control type, so the engine ignores it):
      // settlement prices the dispatched energy with it after later plans have replaced this one.
      const intervals = battery.intervals.slice(0, windows.length).map((interval, k) => {
        const price = doc.prices.energyUsdPerMwh[k];
        const signals: Signal[] = [{ kind: 'fixedW', value: Math.round(interval.netKw * 1000), unit: 'W' }];
        if (price !== undefined && Number.isFinite(price))
          signals.push({ kind: 'price', value: price, unit: 'USD/MWh' });
        return { ...(windows[k] as { start: number; durationS: number }), signals };
      });
      if (intervals.length === 0) continue;
      let eventId = this.#eventIds.get(battery.deviceId);
      const existing = eventId === undefined ? undefined : await store.events.get(eventId);
      const live = existing !== undefined && LIVE_EVENT_STATUSES.has(existing.status);
      if (!live) eventId = idOf(settings.programId, battery.deviceId, doc.createdAt.toString(36));
      const event: ProgramEvent = {
        id: eventId as string,
        programId: settings.programId,
        source: 'market',
        primacy: settings.primacy,
        intervals,
        targets: { deviceIds: [battery.deviceId] },
        status: live ? existing.status : 'scheduled',
        statusHistory: [],
        createdAt: live ? existing.createdAt : doc.createdAt,
      };
      try {
        const stored = await engine.submitEvent(event);
        this.#eventIds.set(battery.deviceId, stored.id);
        battery.eventId = stored.id;
        doc.events.push({ deviceId: battery.deviceId, eventId: stored.id, intervals: intervals.length });
      } catch (error) {
        this.#logger?.warn(
          { deviceId: battery.deviceId, eventId, error: errorFacts(error) },
          'dispatch event not written; the battery keeps its previous event until it ends',
        );
      }
    }
  }

  /** The planned SoC over time, for the deviation check. */
  #remember(doc: DispatchPlanDocument): void {
    if (doc.status !== 'ok') return;
    const trajectories = new Map<string, Trajectory>();
    for (const battery of doc.batteries)
      trajectories.set(battery.deviceId, {
        times: [doc.horizon.start, ...battery.intervals.map((i) => i.end)],
        socPct: [battery.soc0Pct, ...battery.intervals.map((i) => i.socPct)],
      });
    this.#trajectories = trajectories;
  }

  // ------------------------------------------------------------------ inputs

  async #ensureEnrolments(): Promise<void> {
    const { store, registry } = this.#options;
    const { settings } = this;
    const now = this.#clock.now();
    const wanted: Array<Pick<Enrolment, 'siteId' | 'deviceId'> & { key: string }> = [
      ...settings.enrolSiteIds.map((siteId) => ({ siteId, key: `site.${siteId}` })),
      ...settings.enrolDeviceIds.map((deviceId) => ({ deviceId, key: `device.${deviceId}` })),
    ];
    for (const { key, ...target } of wanted) {
      const enrolment: Enrolment = {
        id: idOf(settings.programId, 'enrol', key),
        programId: settings.programId,
        ...target,
        validFrom: now,
        status: 'active',
      };
      try {
        await ensureEnrolment(store, registry, enrolment, DISPATCH_ACTOR);
      } catch (error) {
        this.#logger?.warn({ enrolment: key, error: errorFacts(error) }, 'dispatch enrolment not made');
      }
    }
  }

  #isOnline(deviceId: string): boolean {
    return !this.#offline.has(deviceId) && this.#options.isOnline?.(deviceId) !== false;
  }

  /** Latest total readings from the store, with SoC readings seen on the bus since. */
  async #readings(deviceId: string): Promise<Map<string, TimedValue>> {
    const values = new Map<string, TimedValue>();
    for (const reading of await this.#options.store.telemetry.latest(deviceId))
      if (reading.phase === undefined && typeof reading.value === 'number' && reading.quality !== 'invalid')
        values.set(reading.measurand, { value: reading.value, ts: reading.ts });
    const seen = this.#soc.get(deviceId);
    const stored = values.get('stateOfCharge');
    if (seen !== undefined && (stored === undefined || seen.ts > stored.ts)) values.set('stateOfCharge', seen);
    return values;
  }

  #onProgramEvent(message: BusMessage<ProgramEvent>): void {
    const event = message.payload as Partial<ProgramEvent> | undefined;
    if (event?.programId === undefined || event.programId === this.settings.programId) return;
    this.trigger('program-event');
  }

  #onOutcome(outcome: EventOutcome): void {
    if (outcome.programId === this.settings.programId && outcome.outcome === 'not-applied') this.trigger('overridden');
  }

  #onDeviceState(message: BusMessage<DeviceStateMessage>): void {
    const { deviceId, online } = message.payload ?? {};
    if (typeof deviceId !== 'string' || typeof online !== 'boolean') return;
    const was = !this.#offline.has(deviceId);
    if (online) this.#offline.delete(deviceId);
    else this.#offline.add(deviceId);
    if (was === online) return;
    if (!online && this.#trajectories.has(deviceId)) this.trigger('device-offline');
    if (online && this.#leftOut.has(deviceId)) this.trigger('device-online');
  }

  #onTelemetry(readings: unknown): void {
    if (!Array.isArray(readings)) return;
    for (const reading of readings as Array<Record<string, unknown>>) {
      if (reading?.measurand !== 'stateOfCharge' || reading.phase !== undefined) continue;
      const { deviceId, value, ts } = reading;
      if (typeof deviceId !== 'string' || typeof value !== 'number' || typeof ts !== 'number') continue;
      const before = this.#soc.get(deviceId);
      if (before !== undefined && before.ts >= ts) continue;
      this.#soc.set(deviceId, { value, ts });
      const reason = this.#leftOut.get(deviceId);
      if (reason !== undefined && (reason.startsWith('no stateOfCharge') || reason.startsWith('stale')))
        this.trigger('soc-available');
      const planned = plannedSocAt(this.#trajectories.get(deviceId), ts);
      if (planned !== undefined && Math.abs(planned - value) > this.settings.socDeviationPct)
        this.trigger('soc-deviation');
    }
  }
}

/** The planned SoC at `at`, linear between the plan's interval ends; undefined outside the plan. */
export function plannedSocAt(trajectory: Trajectory | undefined, at: number): number | undefined {
  if (trajectory === undefined) return undefined;
  const { times, socPct } = trajectory;
  if (times.length < 2 || at < (times[0] as number) || at > (times.at(-1) as number)) return undefined;
  let k = 1;
  while (k < times.length - 1 && (times[k] as number) < at) k++;
  const t0 = times[k - 1] as number;
  const t1 = times[k] as number;
  const s0 = socPct[k - 1] as number;
  const s1 = socPct[k] as number;
  return t1 === t0 ? s1 : s0 + ((s1 - s0) * (at - t0)) / (t1 - t0);
}

/** A horizon's start for a message: real, and simulated when scaled. */
function horizonStartText(timeline: PlanTimeline): string {
  const real = new Date(timeline.realBounds[0] as number).toISOString();
  const simulated = timeline.simulatedStarts[0];
  if (simulated === undefined || (timeline.speed === 1 && simulated === timeline.realBounds[0])) return real;
  return `${real} (simulated ${new Date(simulated).toISOString()}, x${timeline.speed})`;
}

function emptyPlan(): Plan {
  return {
    objectiveUsd: 0,
    revenueUsd: { energy: 0 },
    degradationCostUsd: 0,
    penaltyUsd: 0,
    terminalValueUsd: 0,
    batteries: [],
    solver: { runMs: 0, totalMs: 0, objectiveValue: 0, columns: 0, rows: 0, binaries: 0, warm: false },
  };
}
