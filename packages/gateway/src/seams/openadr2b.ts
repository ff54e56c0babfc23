/**
 * The OpenADR 2.0b seam: wires the 2.0b VEN (packages/openadr/src/v2b/ven) to the gateway core. Application
 * wiring like app.ts: the core (registry, control engine) sees canonical Programs, Enrolments and
 * ProgramEvents only.
 *
 * Down (events):
 * - each configured program (by ei:eiMarketContext) is a canonical Program (source 'openadr2b', its primacy and
 *   kind) with its sites and devices enrolled, created or updated at start;
 * - every change the VEN reports on an event (new, modified, status, opt) is mapped with `programEventFrom2b`
 *   (signals, intervals, targets through `targets`, priority, the VEN's randomisation draw) and handed to the
 *   control engine (`submitEvent`: upsert by id or externalId = eventID) or, without an engine in this process,
 *   written through the registry (bus 'program.event'). Opted-out events get status 'opted-out' (and back to
 *   'scheduled' when opted in again), cancelled ones 'cancelled'; the engine moves the others to active and
 *   completed. Test events (testEvent) are answered but applied only when the program says so.
 * - The optIn decision per event: events of unknown market contexts, events the gateway cannot apply (no
 *   supported signal, only unmapped targets) and programs whose policy says so opt out; 'never-when-offline'
 *   opts out when no device of the program's sites sent telemetry within offlineAfterSeconds.
 * Up (reports): per reported site a TELEMETRY_USAGE data point (site power drawn from the grid, W: the site
 * meter's activePower negated, else the devices' summed; generator convention in the model) and a
 * TELEMETRY_STATUS one (online = some device with fresh telemetry; manual override = false), sampled when the
 * VTN's report requests ask. Each report the VTN answers is an audit row 'openadr2b.report' on the VEN
 * (targetType 'ven', targetId venName) with its name, span, values per rID and the VTN's eiResponse
 * (openadr-report-audit.ts); GET /api/events/{id}/reports shows an event those overlapping its window.
 *
 * Known limits: signal-level eiTargets are joined with the event's; TELEMETRY_STATUS does not report operator
 * overrides or load control state; the engine's outcomes are not reported back (2.0b has no such message).
 */
import { readFile } from 'node:fs/promises';
import { type EventTargets, GridseamError, type Program, type ProgramEvent } from '@gridseam/model';
import {
  createVen2b,
  OADR2B_SOURCE,
  type Oadr2bProgramMapping,
  type Oadr2bTargetMap,
  programEventFrom2b,
  type Ven2b,
  type Ven2bEvent,
  type Ven2bRecordKind,
  type Ven2bReportMetadata,
  type Ven2bReportSent,
  type Ven2bSample,
  type Ven2bStateChange,
  type Ven2bStateStore,
  type Ven2bStoredRecord,
  type Ven2bTelemetryRequest,
  type Ven2bTransport,
} from '@gridseam/openadr';
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';
import type { Openadr2bProgramConfig, Openadr2bSection } from '../config/openadr.ts';
import type { ControlEngine } from '../control/engine.ts';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import {
  listedResources,
  OPENADR2B_REPORT_ACTION,
  type OpenadrReportDetail,
  ValueSummaries,
  VEN_TARGET_TYPE,
} from './openadr-report-audit.ts';
import { canonicalId, ensureEnrolment, upsertProgram, writeEventThroughRegistry } from './registry-writes.ts';

/** Who the audit log names for the seam's registry writes. */
export const OPENADR2B_ACTOR = 'openadr2b';
const LIVE: ReadonlySet<ProgramEvent['status']> = new Set(['scheduled', 'active']);
/** Reports kept for `reportsSent()`. */
const REPORTS_KEPT = 100;
const KINDS: ReadonlySet<string> = new Set<Ven2bRecordKind>(['registration', 'response', 'offset', 'opt']);

export interface Openadr2bSeamOptions {
  config: Openadr2bSection;
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  /** The control engine of this process; absent: events go through the registry (bus 'program.event'). */
  engine?: ControlEngine;
  logger: Logger;
  /** Tests: replaces the HTTP(S) transport. */
  transport?: Ven2bTransport;
  /** Local clock, epoch ms (default Date.now). */
  now?: () => number;
}

export interface Openadr2bSeam {
  ven: Ven2b;
  /** Market context -> canonical program id. */
  programs(): ReadonlyMap<string, string>;
  /** The latest reports sent (at most 100), oldest first. */
  reportsSent(): readonly Ven2bReportSent[];
  /** Resolves when the event changes received so far are applied. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** The VEN's state store on the gateway store's namespaced documents (one document `kind/id` per record). */
export function documentVen2bStateStore(store: Store, namespace: string): Ven2bStateStore {
  return {
    async load(): Promise<Ven2bStoredRecord[]> {
      const records: Ven2bStoredRecord[] = [];
      for (const document of await store.documents.list(namespace)) {
        const slash = document.id.indexOf('/');
        const kind = slash > 0 ? document.id.slice(0, slash) : '';
        if (!KINDS.has(kind)) continue;
        records.push({ kind: kind as Ven2bRecordKind, id: document.id.slice(slash + 1), doc: document.doc });
      }
      return records;
    },
    async write(changes: readonly Ven2bStateChange[]): Promise<void> {
      if (changes.length === 0) return;
      await store.documents.write(
        namespace,
        changes.map((change) => ({ id: `${change.kind}/${change.id}`, doc: change.doc })),
      );
    },
  };
}

/** The canonical Program id of a market context. */
export function programIdOfContext(program: Pick<Openadr2bProgramConfig, 'id' | 'marketContext'>): string {
  return program.id ?? canonicalId('oadr2b.', program.marketContext);
}

async function readPem(keyPath: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new GridseamError('GW_ERR_CONFIG', `utility.openadr2b.${keyPath}: cannot read ${path} (${reason})`, {
      cause: error,
    });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function startOpenadr2bSeam(options: Openadr2bSeamOptions): Promise<Openadr2bSeam> {
  const seam = new Openadr2bSeamImpl(options);
  await seam.start();
  return seam;
}

interface ProgramEntry {
  config: Openadr2bProgramConfig;
  mapping: Oadr2bProgramMapping;
  siteIds: string[];
  deviceIds: string[];
}

/** A reported data point: rID -> site and what it measures. */
interface DataPoint {
  siteId: string;
  resourceId: string;
  measure: 'usage' | 'status';
}

class Openadr2bSeamImpl implements Openadr2bSeam {
  ven!: Ven2b;
  readonly #options: Openadr2bSeamOptions;
  readonly #config: Openadr2bSection;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #programs = new Map<string, ProgramEntry>();
  readonly #targets: Oadr2bTargetMap;
  readonly #points = new Map<string, DataPoint>();
  readonly #fingerprints = new Map<string, string>();
  readonly #reports: Ven2bReportSent[] = [];
  readonly #warned = new Set<string>();
  readonly #unsubscribe: Array<() => void> = [];
  #work: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: Openadr2bSeamOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#targets = targetMapOf(options.config);
    for (const program of options.config.programs) {
      const programId = programIdOfContext(program);
      this.#programs.set(program.marketContext, {
        config: program,
        mapping: {
          programId,
          primacy: program.primacy,
          ...(program.simpleLevels === undefined ? {} : { simpleLevels: program.simpleLevels }),
          ...(program.loadCapacityW === undefined ? {} : { loadCapacityW: program.loadCapacityW }),
        },
        siteIds: program.siteIds ?? [],
        deviceIds: program.deviceIds ?? [],
      });
    }
  }

  programs(): ReadonlyMap<string, string> {
    return new Map([...this.#programs].map(([context, entry]) => [context, entry.mapping.programId]));
  }

  reportsSent(): readonly Ven2bReportSent[] {
    return this.#reports;
  }

  idle(): Promise<void> {
    return this.#work;
  }

  async start(): Promise<void> {
    const config = this.#config;
    for (const entry of this.#programs.values()) await this.#ensureProgram(entry);
    const https = config.vtnUrl.startsWith('https://');
    let tls: { cert: string; key: string; ca: string | string[]; tlsProfile: 'openadr2b' | 'node-default' } | undefined;
    if (https && this.#options.transport === undefined) {
      if (config.certificate === undefined || config.key === undefined || config.ca === undefined)
        throw new GridseamError('GW_ERR_CONFIG', 'utility.openadr2b: an https vtnUrl needs certificate, key and ca');
      tls = {
        cert: await readPem('certificate', config.certificate),
        key: await readPem('key', config.key),
        ca: Array.isArray(config.ca)
          ? await Promise.all(config.ca.map((path, i) => readPem(`ca[${i}]`, path)))
          : await readPem('ca', config.ca),
        tlsProfile: config.tlsProfile,
      };
    }
    const signingConfig = config.signing;
    let signing: { key: string; cert: string } | undefined;
    let verification: { trustedCerts: string[]; requireSignatures: boolean; maxAgeSeconds?: number } | undefined;
    if (signingConfig !== undefined) {
      if (signingConfig.sign) {
        const certPath = signingConfig.certificate ?? config.certificate;
        const keyPath = signingConfig.key ?? config.key;
        if (certPath === undefined || keyPath === undefined)
          throw new GridseamError('GW_ERR_CONFIG', 'utility.openadr2b.signing: needs a certificate and key to sign');
        signing = { cert: await readPem('signing.certificate', certPath), key: await readPem('signing.key', keyPath) };
      }
      const trustedPaths =
        signingConfig.trusted ?? (Array.isArray(config.ca) ? config.ca : config.ca ? [config.ca] : []);
      verification = {
        trustedCerts: await Promise.all(trustedPaths.map((path, i) => readPem(`signing.trusted[${i}]`, path))),
        requireSignatures: signingConfig.requireSignatures,
        ...(signingConfig.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: signingConfig.maxAgeSeconds }),
      };
    }

    const log = this.#logger;
    this.ven = createVen2b({
      vtnUrl: config.vtnUrl,
      venName: config.venName,
      ...(config.venId === undefined ? {} : { venId: config.venId }),
      ...(tls === undefined ? {} : { tls }),
      ...(this.#options.transport === undefined ? {} : { transport: this.#options.transport }),
      timeoutMs: config.timeoutMs,
      store: documentVen2bStateStore(this.#options.store, config.stateNamespace),
      ...(config.pollSeconds === undefined ? {} : { pollSeconds: config.pollSeconds }),
      retrySeconds: config.retrySeconds,
      maxRetrySeconds: config.maxRetrySeconds,
      ...(signing === undefined ? {} : { signing }),
      ...(verification === undefined ? {} : { verification }),
      reports: this.#reportMetadata(),
      telemetry: (request) => this.#telemetry(request),
      decideOpt: (event) => this.#decideOpt(event),
      answerRepeats: config.answerRepeats,
      now: this.#now,
      log: (level, message, details) => log[level](details ?? {}, `OpenADR 2.0b VEN: ${message}`),
    });
    this.#unsubscribe.push(
      this.ven.on('events', (changed) => {
        this.#work = this.#work.then(() =>
          this.#onEvents(changed).catch((error: unknown) =>
            log.warn({ err: errorText(error) }, 'OpenADR 2.0b events not applied'),
          ),
        );
      }),
      this.ven.on('report', (sent) => {
        this.#reports.push(sent);
        if (this.#reports.length > REPORTS_KEPT) this.#reports.splice(0, this.#reports.length - REPORTS_KEPT);
        this.#work = this.#work.then(() =>
          this.#auditReport(sent).catch((error: unknown) =>
            log.warn({ err: errorText(error) }, 'OpenADR 2.0b report not recorded'),
          ),
        );
      }),
      this.ven.on('registration', (registration) =>
        registration === undefined
          ? log.warn('OpenADR 2.0b VEN is not registered')
          : log.info({ venId: registration.venId, vtnId: registration.vtnId }, 'OpenADR 2.0b VEN registered'),
      ),
    );
    await this.ven.start();
    log.info(
      {
        vtnUrl: config.vtnUrl,
        programs: [...this.programs().values()],
        registered: this.ven.registration() !== undefined,
      },
      'OpenADR 2.0b VEN started',
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.ven?.stop();
    await this.#work;
  }

  // ------------------------------------------------------------------ programs

  async #ensureProgram(entry: ProgramEntry): Promise<void> {
    const { config, mapping } = entry;
    const store = this.#options.store;
    const registry = this.#options.registry;
    const program: Program = {
      id: mapping.programId,
      name: (config.name ?? `OpenADR 2.0b ${config.marketContext}`).slice(0, 256),
      kind: config.kind,
      source: OADR2B_SOURCE,
      primacy: mapping.primacy,
      description: `OpenADR 2.0b market context ${config.marketContext} of ${this.#config.vtnUrl}`.slice(0, 4096),
    };
    await upsertProgram(store, registry, program, OPENADR2B_ACTOR);
    const now = this.#now();
    const enrol = (scope: 'siteId' | 'deviceId', id: string) =>
      ensureEnrolment(
        store,
        registry,
        {
          id: canonicalId('oadr2b.', `${program.id}.${id}`),
          programId: program.id,
          [scope]: id,
          validFrom: now,
          status: 'active',
        },
        OPENADR2B_ACTOR,
      );
    for (const siteId of entry.siteIds) await enrol('siteId', siteId);
    for (const deviceId of entry.deviceIds) await enrol('deviceId', deviceId);
  }

  // ------------------------------------------------------------------ events

  #warnOnce(key: string, details: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#logger.warn(details, message);
  }

  #map(view: Ven2bEvent, entry: ProgramEntry) {
    return programEventFrom2b(view.event, {
      program: entry.mapping,
      targets: this.#targets,
      ...(this.ven.registration()?.venId === undefined ? {} : { venId: this.ven.registration()?.venId }),
      startOffsetS: view.startOffsetS,
      optType: view.optType,
      now: this.#now(),
    });
  }

  async #decideOpt(view: Ven2bEvent): Promise<'optIn' | 'optOut'> {
    const entry = this.#programs.get(view.marketContext);
    if (entry === undefined) {
      this.#warnOnce(
        `context:${view.marketContext}`,
        { marketContext: view.marketContext, eventId: view.eventId },
        'OpenADR 2.0b event of a market context not configured: opted out',
      );
      return 'optOut';
    }
    if (view.testEvent && !entry.config.applyTestEvents) return 'optIn';
    const mapped = this.#map({ ...view, optType: 'optIn' }, entry);
    if (mapped.skipped !== undefined) {
      this.#logger.warn(
        {
          eventId: view.eventId,
          reason: mapped.skipped,
          unsupported: mapped.unsupportedSignals,
          unmapped: mapped.unmappedTargets,
        },
        'OpenADR 2.0b event the gateway cannot apply: opted out',
      );
      return 'optOut';
    }
    const policy = entry.config.optIn ?? this.#config.optIn;
    if (policy === 'never') return 'optOut';
    if (policy === 'never-when-offline' && !(await this.#anyOnline(entry, mapped.event?.targets))) {
      this.#logger.warn({ eventId: view.eventId }, "OpenADR 2.0b event opted out: the program's devices are offline");
      return 'optOut';
    }
    return 'optIn';
  }

  /** Whether any device of the event's scope (its targets, else the program's enrolment) has fresh telemetry. */
  async #anyOnline(entry: ProgramEntry, targets: EventTargets | undefined): Promise<boolean> {
    const store = this.#options.store;
    const deviceIds = new Set<string>(targets?.deviceIds ?? []);
    const siteIds = targets?.siteIds ?? [];
    const scoped = deviceIds.size > 0 || siteIds.length > 0 || (targets?.groupIds ?? []).length > 0;
    for (const siteId of scoped ? siteIds : entry.siteIds)
      for (const device of await store.devices.list({ siteId, limit: 1000 })) deviceIds.add(device.id);
    if (!scoped) for (const deviceId of entry.deviceIds) deviceIds.add(deviceId);
    if (scoped && deviceIds.size === 0) return true; // groups only: membership is the engine's business
    const freshAfter = this.#now() - this.#config.offlineAfterSeconds * 1000;
    for (const deviceId of deviceIds)
      if ((await store.telemetry.latest(deviceId)).some((r) => r.ts >= freshAfter)) return true;
    return false;
  }

  async #onEvents(changed: readonly Ven2bEvent[]): Promise<void> {
    for (const view of changed) {
      if (this.#closed) return;
      try {
        await this.#apply(view);
      } catch (error) {
        this.#logger.warn({ eventId: view.eventId, err: errorText(error) }, 'OpenADR 2.0b event not applied');
      }
    }
  }

  async #apply(view: Ven2bEvent): Promise<void> {
    const entry = this.#programs.get(view.marketContext);
    if (entry === undefined) return;
    if (view.testEvent && !entry.config.applyTestEvents) {
      this.#logger.info({ eventId: view.eventId, status: view.status }, 'OpenADR 2.0b test event: not applied');
      return;
    }
    const mapped = this.#map(view, entry);
    const store = this.#options.store;
    const draft = mapped.event;
    if (mapped.unmappedTargets.length > 0)
      this.#warnOnce(
        `targets:${mapped.unmappedTargets.join(',')}`,
        { eventId: view.eventId, unmapped: mapped.unmappedTargets },
        'OpenADR 2.0b event names targets without a mapping',
      );
    const existing =
      (draft === undefined ? undefined : await store.events.get(draft.id)) ??
      (await store.events.getByExternalId(OADR2B_SOURCE, view.eventId));
    if (draft === undefined) {
      // The modification made it unusable here (no signal or target of ours left): end what was applied.
      if (existing !== undefined && (LIVE.has(existing.status) || existing.status === 'opted-out'))
        await this.#submit(
          { ...existing, status: 'cancelled', statusHistory: [] },
          existing,
          `modification ${view.modificationNumber} no longer applies here (${mapped.skipped})`,
        );
      return;
    }
    const wanted = view.status === 'cancelled' ? 'cancelled' : draft.status;
    let status: ProgramEvent['status'];
    let reason: string | undefined;
    if (existing === undefined) {
      if (wanted === 'completed' || wanted === 'cancelled') return; // over before we saw it: nothing to apply
      status = wanted === 'active' ? 'scheduled' : wanted;
    } else if (wanted === 'cancelled' && existing.status !== 'cancelled' && existing.status !== 'completed') {
      status = 'cancelled';
      reason = view.implicitlyCancelled
        ? 'the VTN no longer distributes the event'
        : `the VTN cancelled the event (modification ${view.modificationNumber})`;
    } else if (wanted === 'opted-out' && LIVE.has(existing.status)) {
      status = 'opted-out';
      reason = `the VEN opted out (${view.optSource})`;
    } else if ((wanted === 'scheduled' || wanted === 'active') && existing.status === 'opted-out') {
      status = 'scheduled';
      reason = `the VEN opted in again (${view.optSource})`;
    } else if (wanted === 'completed' && existing.status === 'opted-out') status = 'completed';
    else status = existing.status;
    const event: ProgramEvent = { ...draft, id: existing?.id ?? draft.id, status };
    const fingerprint = JSON.stringify([event.programId, event.primacy, event.intervals, event.targets, event.status]);
    if (this.#fingerprints.get(event.id) === fingerprint) return;
    await this.#submit(event, existing, reason);
    this.#fingerprints.set(event.id, fingerprint);
    this.#logger.info(
      {
        eventId: event.id,
        oadrEventId: view.eventId,
        modification: view.modificationNumber,
        status,
        optType: view.optType,
        targets: event.targets,
        signals: event.intervals[0]?.signals,
      },
      'OpenADR 2.0b event handed to the control engine',
    );
  }

  async #submit(event: ProgramEvent, existing: ProgramEvent | undefined, reason: string | undefined): Promise<void> {
    const engine = this.#options.engine;
    if (engine !== undefined) {
      const history =
        existing === undefined
          ? event.statusHistory
          : event.status !== existing.status
            ? [{ status: event.status, at: this.#now(), ...(reason === undefined ? {} : { reason }) }]
            : [];
      await engine.submitEvent({ ...event, statusHistory: history });
      return;
    }
    await writeEventThroughRegistry(this.#options.registry, event, existing, reason, OPENADR2B_ACTOR);
  }

  // ------------------------------------------------------------------ reports

  /** One row 'openadr2b.report' on the VEN (openadr-report-audit.ts): 2.0b telemetry is not an event's. */
  async #auditReport(sent: Ven2bReportSent): Promise<void> {
    const sites = new Set<string>();
    for (const rID of sent.rIds) {
      const point = this.#points.get(rID);
      if (point !== undefined) sites.add(point.siteId);
    }
    await this.#options.store.audit.append({
      at: this.#now(),
      actor: OPENADR2B_ACTOR,
      action: OPENADR2B_REPORT_ACTION,
      targetType: VEN_TARGET_TYPE,
      targetId: this.#config.venName,
      detail: {
        ...report2bDetail(sent, (rID) => this.#points.get(rID)?.resourceId),
        siteIds: [...sites].slice(0, 100),
      },
    });
  }

  /** Sites reported: configured, else every site a program enrols. */
  #reportedSites(): string[] {
    const configured = this.#config.reports?.siteIds;
    if (configured !== undefined) return configured;
    return [...new Set([...this.#programs.values()].flatMap((entry) => entry.siteIds))];
  }

  /** A site's resourceID: the target resourceId that stands for it alone, else the site id. */
  #resourceIdOf(siteId: string): string {
    const target = this.#config.targets.find(
      (t) =>
        t.resourceId !== undefined &&
        t.siteIds?.length === 1 &&
        t.siteIds[0] === siteId &&
        t.deviceIds === undefined &&
        t.groupIds === undefined,
    );
    return target?.resourceId ?? siteId;
  }

  #reportMetadata(): Ven2bReportMetadata[] {
    const sites = this.#reportedSites();
    if (sites.length === 0) return [];
    const reports = this.#config.reports;
    const rate = {
      oadrMinPeriod: reports?.minPeriodSeconds ?? 10,
      oadrMaxPeriod: reports?.maxPeriodSeconds ?? 60,
      oadrOnChange: false,
    };
    const usage: Ven2bReportMetadata = {
      reportSpecifierId: 'gridseam-telemetry-usage',
      reportName: 'METADATA_TELEMETRY_USAGE',
      descriptions: [],
    };
    const status: Ven2bReportMetadata = {
      reportSpecifierId: 'gridseam-telemetry-status',
      reportName: 'METADATA_TELEMETRY_STATUS',
      descriptions: [],
    };
    for (const siteId of sites) {
      const resourceId = this.#resourceIdOf(siteId);
      const usageRid = `${resourceId}:usage`;
      const statusRid = `${resourceId}:status`;
      this.#points.set(usageRid, { siteId, resourceId, measure: 'usage' });
      this.#points.set(statusRid, { siteId, resourceId, measure: 'status' });
      usage.descriptions.push({
        rID: usageRid,
        reportDataSource: { resourceID: [resourceId] },
        reportType: 'usage',
        itemBase: {
          kind: 'powerReal',
          itemDescription: 'RealPower',
          itemUnits: 'W',
          siScaleCode: 'none',
          powerAttributes: { hertz: 50, voltage: 230, ac: true },
        },
        readingType: 'Direct Read',
        oadrSamplingRate: rate,
      });
      status.descriptions.push({
        rID: statusRid,
        reportDataSource: { resourceID: [resourceId] },
        reportType: 'x-resourceStatus',
        readingType: 'x-notApplicable',
        oadrSamplingRate: rate,
      });
    }
    return reports?.status === false ? [usage] : [usage, status];
  }

  async #telemetry(request: Ven2bTelemetryRequest): Promise<Ven2bSample[]> {
    const store = this.#options.store;
    const freshAfter = this.#now() - this.#config.offlineAfterSeconds * 1000;
    const samples: Ven2bSample[] = [];
    const sites = new Map<string, { power?: number; fresh: boolean; any: boolean }>();
    const siteState = async (siteId: string) => {
      const known = sites.get(siteId);
      if (known !== undefined) return known;
      const devices = await store.devices.list({ siteId, limit: 1000 });
      let meterW: number | undefined;
      let meters = 0;
      let devicesW: number | undefined;
      let fresh = false;
      let any = false;
      for (const device of devices) {
        const readings = await store.telemetry.latest(device.id);
        let power: { value: number; ts: number } | undefined;
        for (const reading of readings) {
          if (reading.ts >= freshAfter) fresh = true;
          any = true;
          if (reading.measurand === 'activePower' && reading.phase === undefined && typeof reading.value === 'number')
            if (power === undefined || reading.ts > power.ts) power = { value: reading.value, ts: reading.ts };
        }
        if (power === undefined) continue;
        if (device.class === 'meter') {
          meters++;
          meterW = power.value;
        } else devicesW = (devicesW ?? 0) + power.value;
      }
      // Generator convention: the meter's activePower is export-positive; usage is what the site draws.
      const net = meters === 1 ? meterW : devicesW;
      const state = { ...(net === undefined ? {} : { power: net === 0 ? 0 : -net }), fresh, any };
      sites.set(siteId, state);
      return state;
    };
    for (const rID of request.rIds) {
      const point = this.#points.get(rID);
      if (point === undefined) continue;
      const state = await siteState(point.siteId);
      if (point.measure === 'usage') {
        if (state.power === undefined) continue;
        samples.push({
          rID,
          value: state.power,
          quality: state.fresh ? 'Quality Good - Non Specific' : 'Quality Bad - Last Known Value',
        });
      } else
        samples.push({
          rID,
          value: { kind: 'oadrPayloadResourceStatus', oadrOnline: state.fresh, oadrManualOverride: false },
          quality: state.any ? 'Quality Good - Non Specific' : 'No Quality - No Value',
        });
    }
    return samples;
  }
}

function targetMapOf(config: Openadr2bSection): Oadr2bTargetMap {
  const resources: Record<string, EventTargets> = {};
  const groups: Record<string, EventTargets> = {};
  const parties: Record<string, EventTargets> = {};
  for (const target of config.targets) {
    const value: EventTargets = {
      ...(target.siteIds === undefined ? {} : { siteIds: target.siteIds }),
      ...(target.deviceIds === undefined ? {} : { deviceIds: target.deviceIds }),
      ...(target.groupIds === undefined ? {} : { groupIds: target.groupIds }),
    };
    if (target.resourceId !== undefined) resources[target.resourceId] = value;
    else if (target.groupId !== undefined) groups[target.groupId] = value;
    else if (target.partyId !== undefined) parties[target.partyId] = value;
  }
  return { resources, groups, parties };
}

/** The audit detail of a 2.0b oadrUpdateReport: what was reported and the VTN's oadrUpdatedReport answer. */
export function report2bDetail(
  sent: Ven2bReportSent,
  resourceOf: (rID: string) => string | undefined = () => undefined,
): OpenadrReportDetail {
  const values = new ValueSummaries();
  const resources = new Set<string>();
  let period: { start: number; end: number } | undefined;
  const report = sent.report;
  for (const interval of report.intervals ?? []) {
    const start = interval.dtstart ?? report.dtstart;
    if (start !== undefined) {
      // xcal durations are seconds (codec); a one-shot report has none.
      const end = start + (interval.duration ?? sent.granularityS) * 1000;
      period = { start: Math.min(period?.start ?? start, start), end: Math.max(period?.end ?? end, end) };
    }
    for (const { rID, payload } of interval.oadrReportPayload) {
      resources.add(resourceOf(rID) ?? rID);
      values.add(
        rID,
        payload.kind === 'payloadFloat'
          ? payload.value
          : {
              online: payload.oadrOnline,
              manualOverride: payload.oadrManualOverride,
              ...(payload.oadrLoadControlState === undefined ? {} : { loadControlState: payload.oadrLoadControlState }),
            },
      );
    }
  }
  const { responseCode, responseDescription } = sent.answer;
  return {
    protocol: 'openadr2b',
    ...(report.reportName === undefined ? {} : { reportName: report.reportName }),
    reportSpecifierId: sent.reportSpecifierId,
    reportRequestId: sent.reportRequestId,
    ...(report.eiReportID === undefined ? {} : { eiReportID: report.eiReportID }),
    granularityS: sent.granularityS,
    reportBackS: sent.reportBackS,
    ...(period === undefined ? {} : { period }),
    intervals: sent.intervals,
    ...listedResources([...resources]),
    values: values.toJSON(),
    ...(values.truncated ? { valuesTruncated: true } : {}),
    sent: true,
    accepted: responseCode === 200,
    answer: { responseCode, ...(responseDescription === undefined ? {} : { responseDescription }) },
  };
}
