/**
 * MarketService: the gateway's market interface (issue 10, docs/settlement.md "Aggregations (FERC
 * 2222)" and "Offers and awards"). Aggregations on store.documents ('market-aggregations'), offers
 * from the latest dispatch plan, awards imported into program events for the control engine (source
 * 'market', one program per aggregation) and stored ('market-awards') for settlement. The pure rules
 * are @gridseam/settlement's; this class reads and writes the store and audits every write.
 */
import { GridseamError, type Program, type ProgramEvent, validationError } from '@gridseam/model';
import {
  type Aggregation,
  type AggregationView,
  type Award,
  aggregationView,
  awardsToEvents,
  blockingProblems,
  DEFAULT_AWARD_PRIMACY,
  decodeAggregation,
  MARKET_RUNS,
  MARKET_TIME_ZONES,
  type MarketRun,
  parseAwards,
  type RegistrationState,
  transitionRegistration,
  validateAggregation,
} from '@gridseam/settlement';
import type { Logger } from 'pino';
import type { ControlEngine } from '../control/engine.ts';
import type { DispatchPlanReader } from '../dispatch/plan-store.ts';
import type { FleetRegistry } from '../registry/index.ts';
import { canonicalId, upsertProgram, writeEventThroughRegistry } from '../seams/registry-writes.ts';
import type { Store } from '../store/types.ts';
import { type AggregationOffers, offersFromPlan } from './plan-offers.ts';
import { AggregationStore, AwardStore, type StoredAward } from './stores.ts';

export interface MarketServiceOptions {
  store: Store;
  registry: FleetRegistry;
  /** Award events go through the engine when it runs in this process; else through the registry (bus 'program.event'). */
  engine?: Pick<ControlEngine, 'submitEvent'>;
  /** The dispatch plans offers are built from (absent: offers answer GW_ERR_NOT_SUPPORTED). */
  plans?: DispatchPlanReader | undefined;
  now?: () => number;
  logger?: Logger;
}

export type { AggregationView };

export interface AwardImport {
  awards: number;
  aggregations: Array<{ aggregationId: string; resourceId: string; programId: string; awards: number }>;
  events: Array<{
    id: string;
    programId: string;
    aggregationId: string;
    start: number;
    end: number;
    intervals: number;
    targets: ProgramEvent['targets'];
    created: boolean;
  }>;
}

/** States in which an aggregation's edits must leave it without blocking problems. */
const REGISTERED: ReadonlySet<RegistrationState> = new Set(['utility-review', 'iso-review', 'active', 'suspended']);

/** The program an aggregation's award events belong to. */
export function awardProgramId(aggregationId: string): string {
  return canonicalId('market-awards.', aggregationId);
}

export class MarketService {
  readonly #store: Store;
  readonly #registry: FleetRegistry;
  readonly #engine: Pick<ControlEngine, 'submitEvent'> | undefined;
  readonly #plans: DispatchPlanReader | undefined;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #aggregations: AggregationStore;
  readonly #awards: AwardStore;
  /** Writes one after the other: read-modify-write of a document never loses a concurrent change. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: MarketServiceOptions) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#engine = options.engine;
    this.#plans = options.plans;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#aggregations = new AggregationStore(options.store);
    this.#awards = new AwardStore(options.store);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #view(aggregation: Aggregation): AggregationView {
    return aggregationView(aggregation, this.#now());
  }

  async #get(id: string): Promise<Aggregation> {
    const aggregation = await this.#aggregations.get(id);
    if (aggregation === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', `aggregation ${id} not found`);
    return aggregation;
  }

  async listAggregations(): Promise<AggregationView[]> {
    return (await this.#aggregations.list()).map((a) => this.#view(a));
  }

  async getAggregation(id: string): Promise<AggregationView> {
    return this.#view(await this.#get(id));
  }

  /**
   * Creates or replaces an aggregation from an untrusted body. The registration in the body is
   * ignored: a new aggregation starts as a draft, an existing one keeps its registration (moves go
   * through `transition`). Past the draft, an edit that leaves a blocking problem from now on is
   * refused. The resource id is unique (awards are routed by it); a group must exist.
   */
  putAggregation(id: string, body: unknown, actor: string): Promise<{ view: AggregationView; created: boolean }> {
    return this.#serial(async () => {
      const decoded = decodeAggregation(body);
      if (decoded.id !== id)
        throw validationError('aggregation', [{ path: '/id', message: `must equal the path id ${id}` }]);
      const now = this.#now();
      const all = await this.#aggregations.list();
      const existing = all.find((a) => a.id === id);
      const clash = all.find((a) => a.id !== id && a.resourceId === decoded.resourceId);
      if (clash !== undefined)
        throw new GridseamError(
          'GW_ERR_CONFLICT',
          `resource id ${decoded.resourceId} already belongs to aggregation ${clash.id}`,
        );
      if (decoded.groupId !== undefined && (await this.#store.groups.get(decoded.groupId)) === undefined)
        throw validationError('aggregation', [
          { path: '/groupId', message: `group ${decoded.groupId} does not exist` },
        ]);
      const aggregation: Aggregation = {
        ...decoded,
        registration: existing?.registration ?? { state: 'draft', history: [{ state: 'draft', at: now, actor }] },
      };
      if (REGISTERED.has(aggregation.registration.state)) {
        const blocking = blockingProblems(
          validateAggregation(aggregation, { from: now, to: Number.POSITIVE_INFINITY }),
        );
        if (blocking.length > 0)
          throw new GridseamError(
            'GW_ERR_VALIDATION',
            `aggregation ${id} is ${aggregation.registration.state}; the change would leave: ${blocking[0]?.message}`,
            {
              issues: blocking.map((p) => ({ path: '/members', message: p.message })),
              details: { problems: blocking },
            },
          );
      }
      await this.#aggregations.put(aggregation);
      await this.#store.audit.append({
        at: now,
        actor,
        action: existing === undefined ? 'market.aggregation.create' : 'market.aggregation.update',
        targetType: 'aggregation',
        targetId: id,
        detail: { resourceId: aggregation.resourceId, members: aggregation.members.length },
      });
      return { view: this.#view(aggregation), created: existing === undefined };
    });
  }

  /** A registration move now (transitionRegistration), stored and audited. */
  transition(id: string, to: RegistrationState, actor: string, note?: string): Promise<AggregationView> {
    return this.#serial(async () => {
      const current = await this.#get(id);
      const now = this.#now();
      const next = transitionRegistration(current, to, now, actor, note);
      await this.#aggregations.put(next);
      await this.#store.audit.append({
        at: now,
        actor,
        action: 'market.aggregation.registration',
        targetType: 'aggregation',
        targetId: id,
        detail: { from: current.registration.state, to, ...(note === undefined ? {} : { note }) },
      });
      return this.#view(next);
    });
  }

  /** Energy and capacity offers over [from, to) from the latest dispatch plan. */
  async offers(
    id: string,
    options: { from?: number; to?: number; market?: MarketRun } = {},
  ): Promise<AggregationOffers> {
    const aggregation = await this.#get(id);
    if (this.#plans === undefined)
      throw new GridseamError(
        'GW_ERR_NOT_SUPPORTED',
        'dispatch is not configured in this gateway: no plan to offer from',
      );
    const plan = await this.#plans.latest();
    if (plan === undefined) throw new GridseamError('GW_ERR_NOT_FOUND', 'no dispatch plan has been made yet');
    if (plan.status !== 'ok')
      throw new GridseamError(
        'GW_ERR_NOT_FOUND',
        `the latest dispatch plan failed: ${plan.failure?.message ?? 'no schedule'}`,
      );
    const market = options.market ?? 'DA';
    if (!MARKET_RUNS.includes(market))
      throw validationError('query string', [{ path: '/market', message: `must be one of ${MARKET_RUNS.join(', ')}` }]);
    return offersFromPlan(plan, aggregation, {
      market,
      timeZone: MARKET_TIME_ZONES[aggregation.iso],
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
  }

  /**
   * Awards from an ISO file or body (parseAwards) into program events and stored awards. Every
   * award's resource must be an active aggregation's; everything is checked before anything is
   * written. Per aggregation: its program (source 'market', primacy awardPrimacy ?? 150) is made
   * or updated, the events (awardsToEvents) go to the engine, and the awards are stored. Importing
   * the same awards again updates the same events (their status is kept) and the same documents.
   */
  importAwards(
    text: string,
    format: 'csv' | 'json',
    options: { actor: string; timeZone?: string },
  ): Promise<AwardImport> {
    return this.#serial(async () => {
      const awards = parseAwards(text, format, options.timeZone === undefined ? {} : { timeZone: options.timeZone });
      const now = this.#now();
      const byResource = new Map<string, Award[]>();
      for (const award of awards) {
        const list = byResource.get(award.resourceId) ?? [];
        list.push(award);
        byResource.set(award.resourceId, list);
      }
      const aggregations = new Map((await this.#aggregations.list()).map((a) => [a.resourceId, a]));
      const problems: Array<{ path: string; message: string }> = [];
      for (const resourceId of byResource.keys()) {
        const aggregation = aggregations.get(resourceId);
        if (aggregation === undefined)
          problems.push({ path: '/resourceId', message: `no aggregation has resource id ${resourceId}` });
        else if (aggregation.registration.state !== 'active')
          problems.push({
            path: '/resourceId',
            message: `aggregation ${aggregation.id} (${resourceId}) is ${aggregation.registration.state}; awards need an active aggregation`,
          });
      }
      if (problems.length > 0) throw validationError('awards', problems);

      // All events first: a problem in any aggregation's awards writes nothing.
      const plan = [...byResource].map(([resourceId, list]) => {
        const aggregation = aggregations.get(resourceId) as Aggregation;
        const programId = awardProgramId(aggregation.id);
        return { aggregation, programId, awards: list, events: awardsToEvents(list, aggregation, { programId, now }) };
      });

      const result: AwardImport = { awards: awards.length, aggregations: [], events: [] };
      const stored: StoredAward[] = [];
      for (const { aggregation, programId, awards: list, events } of plan) {
        const program: Program = {
          id: programId,
          name: `Market awards: ${aggregation.name ?? aggregation.id}`.slice(0, 256),
          kind: 'wholesale-market',
          source: 'market',
          primacy: aggregation.awardPrimacy ?? DEFAULT_AWARD_PRIMACY,
          description: `Awards of ${aggregation.iso} resource ${aggregation.resourceId} (aggregation ${aggregation.id})`,
        };
        await upsertProgram(this.#store, this.#registry, program, options.actor);
        const eventsOf = new Map<string, string[]>();
        for (const event of events) {
          const existing = await this.#store.events.get(event.id);
          // A re-import keeps the event's status (the engine may have made it active or completed it).
          const next: ProgramEvent = {
            ...event,
            status: existing?.status ?? event.status,
            createdAt: existing?.createdAt ?? event.createdAt,
          };
          if (this.#engine !== undefined) await this.#engine.submitEvent(next);
          else await writeEventThroughRegistry(this.#registry, next, existing, undefined, options.actor);
          // externalId = resource|market|product|runStart[|device]: the awards it carries share the first three.
          const [resource, market, product] = (event.externalId ?? '').split('|');
          for (const interval of event.intervals) {
            const key = `${resource}|${market}|${product}|${interval.start}`;
            const ids = eventsOf.get(key) ?? [];
            ids.push(event.id);
            eventsOf.set(key, ids);
          }
          result.events.push({
            id: event.id,
            programId,
            aggregationId: aggregation.id,
            start: event.intervals[0]?.start ?? 0,
            end: Math.max(...event.intervals.map((i) => i.start + i.durationS * 1000)),
            intervals: event.intervals.length,
            targets: event.targets,
            created: existing === undefined,
          });
        }
        for (const award of list)
          stored.push({
            ...award,
            aggregationId: aggregation.id,
            programId,
            eventIds:
              eventsOf.get(`${award.resourceId}|${award.interval.market}|${award.product}|${award.interval.startMs}`) ??
              [],
            importedAt: now,
            importedBy: options.actor,
          });
        result.aggregations.push({
          aggregationId: aggregation.id,
          resourceId: aggregation.resourceId,
          programId,
          awards: list.length,
        });
      }
      await this.#awards.put(stored);
      await this.#store.audit.append({
        at: now,
        actor: options.actor,
        action: 'market.awards.import',
        targetType: 'awards',
        detail: {
          format,
          awards: awards.length,
          events: result.events.length,
          aggregations: result.aggregations.length,
        },
      });
      this.#logger?.info(
        {
          awards: awards.length,
          events: result.events.length,
          aggregations: result.aggregations.map((a) => a.aggregationId),
        },
        'market awards imported',
      );
      return result;
    });
  }

  /** Stored awards overlapping [from, to), by start. */
  awards(from?: number, to?: number): Promise<StoredAward[]> {
    return this.#awards.list(from, to);
  }
}
