/**
 * The OpenADR 3 seam: wires the OpenADR 3 VEN (packages/openadr, createVen3) to the gateway core,
 * like the IEEE 2030.5 seam. The core (registry, control engine) sees canonical Programs,
 * ProgramEvents and Enrolments only.
 *
 * Down:
 * - each program of `utility.openadr3.programs` the VTN lists becomes a canonical Program (source
 *   'openadr3', id `oadr3.program.<programID>`, primacy from config) and its configured sites and
 *   devices are enrolled in it (its untargeted events apply to them; configured groups are put in
 *   such events' targets);
 * - each of its events becomes a ProgramEvent (id `oadr3.event.<eventID>`, externalId = eventID,
 *   signals per packages/openadr/src/v3/canonical.ts, targets through `utility.openadr3.targets`),
 *   submitted to the control engine (`submitEvent`: upsert by id or externalId, idempotent) or,
 *   without an engine, written through the registry. A modification replaces the intervals; a
 *   deletion (or an event emptied to no duration, User Guide §7.9) cancels a live event. Events
 *   with nothing the fleet can apply (only prices, alerts, GHG, ...) are still recorded when they
 *   carry a signal kind the model knows (price, simpleLevel); the rest is logged.
 * - Prices (PRICE, EXPORT_PRICE, PRICE_ALTERNATE) are kept per event (`prices()`) and handed to
 *   `onPrices` for dispatch.
 * Up:
 * - reports the events ask for, from the registry's devices and their latest telemetry: a resource
 *   is a site (its meter when it has exactly one, else its DERs summed; the model's generator
 *   convention) or one device; each report (posted, refused or left without data) is an audit row
 *   'openadr3.report' on its event with its name, span, values summary and the VTN's answer
 *   (openadr-report-audit.ts; GET /api/events/{id}/reports), beside the engine's decisions on the
 *   event (GET /api/events/{id}/decisions);
 * - engine outcomes are logged (OpenADR 3 has no per-event response; the reports tell the VTN).
 * The VTN going away leaves the events in the engine running to their end (the VEN keeps them); a
 * wrong secret or a refusal is logged as an error with its GW_ERR code, never a crash.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Device, type Enrolment, GridseamError, type Program, type ProgramEvent } from '@gridseam/model';
import {
  createVen3,
  type EventChange,
  type Oadr3ProgramMapping,
  type Oadr3ResourceValues,
  type PricePoint,
  type ProgramChange,
  type ReportPosted,
  type ResourceSample,
  type Ven3,
  type Ven3Options,
} from '@gridseam/openadr';
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';
import type { Openadr3ProgramConfig, Openadr3Section } from '../config/openadr.ts';
import type { ControlEngine, EventOutcome } from '../control/engine.ts';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import { latestValues } from './ieee2030-5-reports.ts';
import {
  listedResources,
  OPENADR3_REPORT_ACTION,
  type OpenadrReportDetail,
  ValueSummaries,
} from './openadr-report-audit.ts';
import { ensureEnrolment, upsertProgram, writeEventThroughRegistry } from './registry-writes.ts';

/** Who the audit log names for the seam's writes. */
export const OPENADR3_ACTOR = 'openadr3';
const SOURCE = 'openadr3';
const LIVE: ReadonlySet<ProgramEvent['status']> = new Set(['scheduled', 'active']);
const DER_CLASSES: ReadonlySet<Device['class']> = new Set(['pv-inverter', 'battery', 'hybrid-inverter']);
const ID_MAX = 128;

export interface Openadr3SeamOptions {
  config: Openadr3Section;
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  /** The control engine of this process; absent: events go through the registry (bus 'program.event'). */
  engine?: ControlEngine;
  logger: Logger;
  /** Where clientSecretEnv is read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  /** Prices of an event (empty: the event is gone), for dispatch. */
  onPrices?: (eventId: string, prices: readonly PricePoint[]) => void;
  /** Tests: extra VEN options (e.g. a faster sampling). */
  venOverrides?: Partial<Ven3Options>;
}

export interface Openadr3Seam {
  ven: Ven3;
  /** Prices per canonical event id. */
  prices(): ReadonlyMap<string, readonly PricePoint[]>;
  /** Resolves when the VEN changes received so far are applied. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startOpenadr3Seam(options: Openadr3SeamOptions): Promise<Openadr3Seam> {
  const seam = new Openadr3SeamImpl(options);
  await seam.start();
  return seam;
}

/** The PEM text of utility.openadr3.ca; an unreadable file stops the start (GW_ERR_CONFIG). */
async function readCas(paths: string | readonly string[]): Promise<string[]> {
  const list = typeof paths === 'string' ? [paths] : paths;
  return Promise.all(
    list.map(async (path) => {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        throw new GridseamError('GW_ERR_CONFIG', `utility.openadr3.ca: cannot read ${path} (${errorText(error)})`, {
          cause: error,
        });
      }
    }),
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `prefix` + text when that is a valid id, else prefix + a hash of the text. */
function idOf(prefix: string, text: string): string {
  const slug = text.replace(/[^A-Za-z0-9._:-]+/g, '_');
  const id = `${prefix}${slug}`;
  return id.length <= ID_MAX ? id : `${prefix}${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

class Openadr3SeamImpl implements Openadr3Seam {
  ven!: Ven3;
  readonly #options: Openadr3SeamOptions;
  readonly #config: Openadr3Section;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #programs = new Map<string, string>();
  readonly #enrolled = new Set<string>();
  readonly #events = new Map<string, string>();
  readonly #prices = new Map<string, readonly PricePoint[]>();
  /** OpenADR event id -> canonical event id (for report audit rows). */
  readonly #eventIds = new Map<string, string>();
  readonly #unsubscribe: Array<() => void> = [];
  #work: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: Openadr3SeamOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  prices(): ReadonlyMap<string, readonly PricePoint[]> {
    return this.#prices;
  }

  idle(): Promise<void> {
    return this.#work;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const store = this.#options.store;
    let clientSecret: string | undefined;
    if (config.clientSecretEnv !== undefined) {
      clientSecret = (this.#options.env ?? process.env)[config.clientSecretEnv];
      if (clientSecret === undefined || clientSecret === '')
        throw new GridseamError(
          'GW_ERR_CONFIG',
          `utility.openadr3.clientSecretEnv: the environment variable ${config.clientSecretEnv} is not set or is empty`,
        );
    }
    const sites = new Set<string>();
    for (const program of Object.values(config.programs)) for (const id of program.siteIds ?? []) sites.add(id);
    for (const resource of config.resources ?? []) if (resource.siteId !== undefined) sites.add(resource.siteId);
    for (const siteId of sites)
      if (!(await store.sites.get(siteId)))
        throw new GridseamError('GW_ERR_CONFIG', `utility.openadr3: site ${siteId} is not in the registry`);

    const ca = config.ca === undefined ? undefined : await readCas(config.ca);
    const programs: Record<string, Oadr3ProgramMapping> = {};
    for (const [name, program] of Object.entries(config.programs)) programs[name] = this.#mapping(program);
    const log = this.#logger;
    this.ven = createVen3({
      version: config.version,
      vtnUrl: config.vtnUrl,
      venName: config.venName,
      ...(config.clientId !== undefined && clientSecret !== undefined
        ? {
            credentials: {
              clientId: config.clientId,
              clientSecret,
              ...(config.tokenUrl === undefined ? {} : { tokenUrl: config.tokenUrl }),
            },
          }
        : {}),
      resources: this.#resources().map((r) => r.resourceName),
      programs,
      targets: config.targets,
      pollIntervalMs: Math.round(config.pollSeconds * 1000),
      maxBackoffMs: Math.round(config.maxBackoffSeconds * 1000),
      http: { timeoutMs: config.timeoutMs, rejectUnauthorized: config.tlsVerify, ...(ca === undefined ? {} : { ca }) },
      ...(config.callback === undefined
        ? {}
        : {
            callback: {
              host: config.callback.host,
              port: config.callback.port,
              maxBodyBytes: config.callback.maxBodyBytes,
              ...(config.callback.publicUrl === undefined ? {} : { publicUrl: config.callback.publicUrl }),
            },
          }),
      reports: {
        telemetry: (names) => this.#telemetry(names),
        sampleIntervalMs: Math.round(config.sampleSeconds * 1000),
        adHocIntervalMs: Math.round(config.reportIntervalSeconds * 1000),
      },
      now: this.#now,
      ...this.#options.venOverrides,
    });
    const queue = (what: string, job: () => Promise<void>) => {
      this.#work = this.#work.then(() =>
        job().catch((error: unknown) => log.warn({ err: errorText(error) }, `OpenADR 3 ${what} not applied`)),
      );
    };
    this.#unsubscribe.push(
      this.ven.on('program', (change) => queue('program', () => this.#onProgram(change))),
      this.ven.on('event', (change) => queue('event', () => this.#onEvent(change))),
      this.ven.on('report', (report) => queue('report', () => this.#onReport(report))),
      this.ven.on('error', (error) =>
        log.warn({ code: error.code, err: error.message, details: error.details }, 'OpenADR 3 VEN error'),
      ),
      this.ven.on('connection', (state) =>
        state.online ? log.info('OpenADR 3 VTN reachable again') : log.warn('OpenADR 3 VTN unreachable'),
      ),
    );
    const engine = this.#options.engine;
    if (engine !== undefined) this.#unsubscribe.push(engine.on('outcome', (outcome) => this.#onOutcome(outcome)));
    await this.ven.start();
    await this.#work;
    const status = this.ven.status();
    log.info(
      {
        vtnUrl: config.vtnUrl,
        version: config.version,
        venId: status.venId,
        online: status.online,
        events: this.ven.events().size,
        callback: this.ven.callbackUrl(),
      },
      'OpenADR 3 VEN started',
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.ven?.stop();
    await this.#work;
  }

  #mapping(program: Openadr3ProgramConfig): Oadr3ProgramMapping {
    const groups = program.groupIds ?? [];
    return {
      primacy: program.primacy,
      ...(program.kind === undefined ? {} : { kind: program.kind }),
      ...(program.simple === undefined ? {} : { simple: program.simple }),
      // Enrolments carry sites and devices; groups can only be named in the events' targets.
      ...(groups.length === 0
        ? {}
        : {
            defaultTargets: {
              groupIds: [...groups],
              ...(program.siteIds?.length ? { siteIds: [...program.siteIds] } : {}),
              ...(program.deviceIds?.length ? { deviceIds: [...program.deviceIds] } : {}),
            },
          }),
    };
  }

  /** The configured resources, or one per enrolled site. */
  #resources(): Array<{ resourceName: string; siteId?: string; deviceId?: string }> {
    if (this.#config.resources !== undefined) return this.#config.resources;
    const sites = new Set<string>();
    for (const program of Object.values(this.#config.programs)) for (const id of program.siteIds ?? []) sites.add(id);
    return [...sites].sort().map((siteId) => ({ resourceName: siteId, siteId }));
  }

  // ------------------------------------------------------------------ programs and enrolments

  async #onProgram(change: ProgramChange): Promise<void> {
    if (this.#closed) return;
    if (change.change === 'deleted') {
      this.#logger.info({ programId: change.canonical.id }, 'OpenADR 3 program gone from the VTN');
      return;
    }
    const program: Program = change.canonical;
    const fingerprint = JSON.stringify([program.name, program.kind, program.primacy, program.description]);
    if (this.#programs.get(program.id) !== fingerprint) {
      await upsertProgram(this.#options.store, this.#options.registry, program, OPENADR3_ACTOR);
      this.#programs.set(program.id, fingerprint);
    }
    const config = this.#config.programs[change.program.programName];
    for (const siteId of config?.siteIds ?? []) await this.#enrol(program.id, { siteId });
    for (const deviceId of config?.deviceIds ?? []) await this.#enrol(program.id, { deviceId });
  }

  async #enrol(programId: string, scope: { siteId: string } | { deviceId: string }): Promise<void> {
    const target = 'siteId' in scope ? `site.${scope.siteId}` : `device.${scope.deviceId}`;
    const id = idOf('oadr3.enrol.', `${programId.replace(/^oadr3\.program\./, '')}.${target}`);
    if (this.#enrolled.has(id)) return;
    const enrolment: Enrolment = { id, programId, ...scope, validFrom: this.#now(), status: 'active' };
    await ensureEnrolment(this.#options.store, this.#options.registry, enrolment, OPENADR3_ACTOR);
    this.#enrolled.add(id);
  }

  // ------------------------------------------------------------------ events

  async #onEvent(change: EventChange): Promise<void> {
    if (this.#closed) return;
    const { draft } = change;
    const eventId = draft.event.id;
    this.#eventIds.set(change.event.id, eventId);
    if (draft.unsupported.length > 0)
      this.#logger.info(
        { eventId, unsupported: draft.unsupported.slice(0, 10) },
        'OpenADR 3 payloads recorded but not applied',
      );
    const gone = change.change === 'deleted' || draft.event.status === 'cancelled';
    if (gone) this.#prices.delete(eventId);
    else if (draft.prices.length > 0) this.#prices.set(eventId, draft.prices);
    if (gone || draft.prices.length > 0) this.#options.onPrices?.(eventId, gone ? [] : draft.prices);

    const store = this.#options.store;
    const existing =
      (await store.events.get(eventId)) ?? (await store.events.getByExternalId(SOURCE, draft.event.externalId));
    if (gone || draft.event.intervals.length === 0) {
      if (existing !== undefined && (LIVE.has(existing.status) || existing.status === 'opted-out')) {
        const reason = gone
          ? (draft.event.statusHistory.at(-1)?.reason ?? 'the VTN cancelled the event')
          : 'the VTN changed the event to nothing the fleet can apply';
        await this.#write(
          { ...existing, status: 'cancelled', statusHistory: [{ status: 'cancelled', at: this.#now(), reason }] },
          existing,
          reason,
        );
        this.#events.delete(existing.id);
        this.#logger.info({ eventId: existing.id, reason }, 'OpenADR 3 event cancelled');
      } else if (!gone) this.#logger.info({ eventId }, 'OpenADR 3 event has nothing the fleet can apply');
      return;
    }
    let status: ProgramEvent['status'] = draft.event.status;
    if (existing !== undefined) {
      if (!LIVE.has(existing.status) && existing.status !== 'opted-out') {
        // Seen again after a restart, or changed by the VTN after it ended here: final states stay.
        this.#logger[change.change === 'modified' ? 'warn' : 'debug'](
          { eventId: existing.id, status: existing.status },
          'OpenADR 3 event already ended here; the VTN version is not applied',
        );
        return;
      }
      status = existing.status;
    } else if (status === 'completed') return; // already over when first seen

    const { statusHistory, ...content } = draft.event;
    const event: ProgramEvent = {
      ...content,
      id: existing?.id ?? eventId,
      status,
      statusHistory: existing === undefined ? statusHistory : existing.statusHistory,
    };
    const fingerprint = JSON.stringify([event.programId, event.primacy, event.intervals, event.targets, event.status]);
    if (this.#events.get(event.id) === fingerprint) return;
    await this.#write(event, existing, undefined);
    this.#events.set(event.id, fingerprint);
    this.#logger.info(
      {
        eventId: event.id,
        change: change.change,
        status,
        targets: event.targets,
        intervals: event.intervals.length,
        signals: event.intervals[0]?.signals,
      },
      'OpenADR 3 event handed to the control engine',
    );
  }

  async #write(event: ProgramEvent, existing: ProgramEvent | undefined, reason: string | undefined): Promise<void> {
    const engine = this.#options.engine;
    if (engine !== undefined) {
      await engine.submitEvent(event);
      return;
    }
    await writeEventThroughRegistry(this.#options.registry, event, existing, reason, OPENADR3_ACTOR);
  }

  #onOutcome(outcome: EventOutcome): void {
    if (outcome.source !== SOURCE || this.#closed) return;
    this.#logger.info(
      { eventId: outcome.eventId, eventID: outcome.externalId, outcome: outcome.outcome, reason: outcome.reason },
      'OpenADR 3 event outcome',
    );
  }

  // ------------------------------------------------------------------ reports

  async #onReport(report: ReportPosted): Promise<void> {
    const targetId = this.#eventIds.get(report.eventID) ?? idOf('oadr3.event.', report.eventID);
    await this.#options.store.audit.append({
      at: this.#now(),
      actor: OPENADR3_ACTOR,
      action: OPENADR3_REPORT_ACTION,
      targetType: 'event',
      targetId,
      detail: report3Detail(report, this.#config.version),
    });
    if (report.posted)
      this.#logger.debug({ eventId: targetId, payloadTypes: report.payloadTypes }, 'OpenADR 3 report posted');
    else this.#logger.warn({ eventId: targetId, reason: report.reason }, 'OpenADR 3 report not posted');
  }

  async #devicesOf(siteId: string): Promise<Device[]> {
    const devices: Device[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.#options.store.devices.list({ siteId, limit: 1000, offset });
      devices.push(...page);
      if (page.length < 1000) break;
    }
    return devices.filter((d) => d.enabled !== false);
  }

  /** One resource's canonical values from the registry and the latest telemetry. */
  async #telemetry(names: readonly string[]): Promise<ResourceSample[]> {
    const store = this.#options.store;
    const now = this.#now();
    const curtailed = [...this.ven.events().values()].some((draft) =>
      draft.event.intervals.some(
        (i) =>
          i.start <= now &&
          now < i.start + i.durationS * 1000 &&
          i.signals.some((s) => s.kind !== 'price' && s.kind !== 'simpleLevel'),
      ),
    );
    const out: ResourceSample[] = [];
    for (const resource of this.#resources()) {
      if (!names.includes(resource.resourceName)) continue;
      let devices: Device[];
      if (resource.deviceId !== undefined) {
        const device = await store.devices.get(resource.deviceId);
        devices = device === undefined ? [] : [device];
      } else devices = await this.#devicesOf(resource.siteId ?? '');
      const latest = new Map<string, Map<string, { value: number; ts: number }>>();
      const states = new Map<string, string>();
      for (const device of devices) {
        const readings = await store.telemetry.latest(device.id);
        latest.set(device.id, latestValues(readings));
        const state = readings.find((r) => r.measurand === 'operatingState' && typeof r.value === 'string');
        if (state !== undefined) states.set(device.id, String(state.value));
      }
      const sample = siteSample(resource.resourceName, devices, latest, states, resource.deviceId !== undefined);
      if (sample === undefined) continue;
      if (curtailed) sample.values.curtailed = true;
      out.push(sample);
    }
    return out;
  }
}

/**
 * Canonical values of a site (its meter when it has exactly one, else its DERs summed) or of one
 * device; undefined when nothing is known.
 */
export function siteSample(
  resourceName: string,
  devices: readonly Device[],
  latest: ReadonlyMap<string, ReadonlyMap<string, { value: number; ts: number }>>,
  states: ReadonlyMap<string, string>,
  single = false,
): ResourceSample | undefined {
  const value = (id: string, measurand: string) => latest.get(id)?.get(measurand)?.value;
  const meters = devices.filter((d) => d.class === 'meter');
  const ders = single ? [...devices] : devices.filter((d) => DER_CLASSES.has(d.class));
  const meter = !single && meters.length === 1 ? meters[0] : undefined;
  const sum = (ids: readonly Device[], measurand: string) => {
    let total: number | undefined;
    for (const device of ids) {
      const v = value(device.id, measurand);
      if (v !== undefined) total = (total ?? 0) + v;
    }
    return total;
  };
  const values: Oadr3ResourceValues = {};
  const power = meter ? value(meter.id, 'activePower') : sum(ders, 'activePower');
  if (power !== undefined) values.activePowerW = power;
  const reactive = meter ? value(meter.id, 'reactivePower') : sum(ders, 'reactivePower');
  if (reactive !== undefined) values.reactivePowerVar = reactive;
  const voltage = meter
    ? value(meter.id, 'voltage')
    : ders.map((d) => value(d.id, 'voltage')).find((v) => v !== undefined);
  if (voltage !== undefined) values.voltageV = voltage;
  const batteries = ders.filter((d) => d.capabilities.storage !== undefined);
  let energy = 0;
  let capacity = 0;
  for (const battery of batteries) {
    const soc = value(battery.id, 'stateOfCharge');
    const cap = battery.capabilities.storage?.capacityWh ?? 0;
    if (soc === undefined || cap <= 0) continue;
    energy += (soc / 100) * cap;
    capacity += cap;
  }
  if (capacity > 0) values.socPct = (energy / capacity) * 100;
  if (batteries.length > 0) {
    values.usableCapacityWh = batteries.reduce((a, d) => a + (d.capabilities.storage?.capacityWh ?? 0), 0);
    values.maxChargeW = batteries.reduce((a, d) => a + (d.capabilities.storage?.maxChargeW ?? 0), 0);
    values.maxDischargeW = batteries.reduce((a, d) => a + (d.capabilities.storage?.maxDischargeW ?? 0), 0);
  }
  const derStates = ders.map((d) => states.get(d.id)).filter((s): s is string => s !== undefined);
  if (derStates.length > 0)
    values.operatingState = derStates.includes('fault')
      ? 'fault'
      : (derStates.find((s) => s === 'running' || s === 'throttled' || s === 'charging' || s === 'discharging') ??
        derStates[0]);
  const imported = meter ? value(meter.id, 'energyImported') : sum(ders, 'energyImported');
  if (Object.keys(values).length === 0 && imported === undefined) return undefined;
  return { resourceName, values, ...(imported === undefined ? {} : { energyImportedWh: imported }) };
}

/** The audit detail of a 3.x report: what was reported (from the body built) and the VTN's answer. */
export function report3Detail(report: ReportPosted, version: string): OpenadrReportDetail {
  const values = new ValueSummaries();
  const body = report.report;
  const resources = Array.isArray(body?.resources) ? (body.resources as unknown[]) : [];
  for (const resource of resources) {
    const intervals = (resource as { intervals?: unknown }).intervals;
    if (!Array.isArray(intervals)) continue;
    for (const interval of intervals) {
      const payloads = (interval as { payloads?: unknown }).payloads;
      if (!Array.isArray(payloads)) continue;
      for (const payload of payloads) {
        const { type, values: list } = payload as { type?: unknown; values?: unknown };
        if (typeof type !== 'string' || !Array.isArray(list)) continue;
        for (const value of list) values.add(type, value);
      }
    }
  }
  const sent = report.status !== undefined;
  const accepted = report.posted;
  return {
    protocol: 'openadr3',
    version,
    eventID: report.eventID,
    ...(typeof body?.reportName === 'string' ? { reportName: body.reportName } : {}),
    payloadTypes: report.payloadTypes,
    ...(report.period === undefined ? {} : { period: report.period }),
    intervals: report.intervals.length,
    ...listedResources(report.resources),
    values: values.toJSON(),
    ...(values.truncated ? { valuesTruncated: true } : {}),
    sent,
    accepted,
    ...(sent
      ? {
          answer: {
            status: report.status,
            ...(report.reportID === undefined ? {} : { reportID: report.reportID }),
            ...(accepted || report.reason === undefined ? {} : { problem: report.reason }),
          },
        }
      : {}),
    ...(report.reason === undefined ? {} : { reason: report.reason }),
  };
}
