/**
 * The IEEE 2030.5 seam: wires the 2030.5 client (packages/ieee2030-5/src/client) to the gateway
 * core. It is application wiring (like app.ts): the core (registry, control engine) never sees a
 * 2030.5 type, only canonical Programs, ProgramEvents and Enrolments.
 *
 * Down (controls):
 * - every EndDevice the client manages stands for one gateway site (direct mode: the gateway's own
 *   certificate and `siteId`; aggregator mode: `endDevices` maps LFDIs to sites);
 * - each DERProgram the client sees becomes a canonical Program (source 'ieee2030.5', id from its
 *   href, primacy from DERProgram.primacy, defaultControls from the DefaultDERControl in force) and
 *   each mapped site is enrolled in it, so the engine applies the default when no control is;
 * - each DERControl becomes a ProgramEvent (id `sep.<mRID>`, externalId = mRID, targets = the sites
 *   whose EndDevices list it), submitted to the control engine (`submitEvent`: upsert by id or
 *   externalId, idempotent) or, without an engine in this process, written through the registry
 *   (which publishes it on the bus topic 'program.event'). Cancellation and supersession reported
 *   by the server end the event; the engine itself moves it to active and completed.
 * Up:
 * - Responses 1/2/3/6/7 are the client's own (event rules, persisted, never duplicated); an engine
 *   outcome 'failed' that still holds after failureGraceSeconds is posted as `failureResponse`;
 *   every Response posted is an audit row on its event (ieee2030-5-response-audit.ts), listed by
 *   GET /api/events/{id}/reports;
 * - DERCapability, DERSettings, DERStatus (SoC) and DERAvailability from the registry's devices
 *   and their latest telemetry, at start and then every reportIntervalSeconds when changed;
 * - mirror readings at the postRate: the site meter (site) and the DERs summed (DER).
 *
 * Known limits: comms-loss fallback (commsLossFallbackSeconds) is applied by the client to its own
 * schedule, but events already handed to the engine keep running to their end; a per-EndDevice
 * DefaultDERControl that differs from its program's is applied at program level; randomised start
 * times are not passed on (the end is, when the client reports the effective window).
 */
import { readFile } from 'node:fs/promises';
import {
  type ControlsUpdate,
  createSepClient,
  type EndDeviceRef,
  lfdiFromPem,
  type ProgramEventDraft,
  type ReadingsInput,
  type ResponseRecordDoc,
  type SepClient,
  type SepClientNotificationOptions,
  type SepTransport,
} from '@gridseam/ieee2030-5';
import { GridseamError, type Program, type ProgramEvent } from '@gridseam/model';
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';
import type { Ieee2030_5NotificationsConfig, Ieee2030_5Section } from '../config/utility.ts';
import type { ControlEngine, EventOutcome } from '../control/engine.ts';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import { documentClientStateStore } from './client-state-store.ts';
import { auditPostedResponses, IEEE2030_5_RESPONSE_ACTION, responseDetail } from './ieee2030-5-response-audit.ts';
import { canonicalId, ensureEnrolment, upsertProgram, writeEventThroughRegistry } from './registry-writes.ts';

export { canonicalId } from './registry-writes.ts';

import { listAll } from '../store/list-all.ts';
import { type LatestValues, latestValues, type SiteSnapshot, siteReadings, siteReports } from './ieee2030-5-reports.ts';

/** Who the audit log names for the seam's registry writes. */
export const IEEE2030_5_ACTOR = 'ieee2030-5';
const SOURCE = 'ieee2030.5';
const LIVE: ReadonlySet<ProgramEvent['status']> = new Set(['scheduled', 'active']);

export interface Ieee2030_5SeamOptions {
  config: Ieee2030_5Section;
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  /** The control engine of this process; absent: events go through the registry (bus 'program.event'). */
  engine?: ControlEngine;
  logger: Logger;
  /** Tests: replaces mutual TLS. */
  transport?: SepTransport;
  /** Local clock, epoch ms (default Date.now). */
  now?: () => number;
}

export interface Ieee2030_5Seam {
  client: SepClient;
  /** LFDI (lower case) -> site id. */
  sites(): ReadonlyMap<string, string>;
  /** Runs the DER report step now (PUTs what changed); resolves when done. */
  reportNow(): Promise<void>;
  /** Resolves when the controls updates received so far are applied. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

async function readPem(keyPath: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new GridseamError('GW_ERR_CONFIG', `utility.ieee2030_5.${keyPath}: cannot read ${path} (${reason})`, {
      cause: error,
    });
  }
}

/** The canonical Program id of a DERProgram href. */
export function programIdOf(href: string): string {
  return canonicalId('sep.', href);
}

/** The client's Notification options from config: the URI given to the server defaults to the bound address. */
function notificationOptions(config: Ieee2030_5NotificationsConfig): SepClientNotificationOptions {
  const scheme = config.plainHttp ? 'http' : 'https';
  return {
    listen: { host: config.host, port: config.port },
    publicUri:
      config.publicUri ??
      ((bound) => `${scheme}://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}/notify`),
    plainHttp: config.plainHttp,
    limit: config.limit,
    maxBodyBytes: config.maxBodyBytes,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function startIeee2030_5Seam(options: Ieee2030_5SeamOptions): Promise<Ieee2030_5Seam> {
  const seam = new Ieee2030_5SeamImpl(options);
  await seam.start();
  return seam;
}

class Ieee2030_5SeamImpl implements Ieee2030_5Seam {
  client!: SepClient;
  readonly #options: Ieee2030_5SeamOptions;
  readonly #config: Ieee2030_5Section;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #sites = new Map<string, string>();
  /** mRID -> sites whose EndDevices list it. */
  readonly #controlSites = new Map<string, Set<string>>();
  /** Fingerprints of what was last written, to write only changes. */
  readonly #programs = new Map<string, string>();
  readonly #enrolled = new Set<string>();
  readonly #events = new Map<string, string>();
  readonly #reports = new Map<string, Map<string, string>>();
  readonly #settingsAt = new Map<string, number>();
  readonly #setMaxW = new Map<string, number>();
  /** Per event: the latest engine outcome, and the timer that posts the failure Response. */
  readonly #outcomes = new Map<string, { outcome: EventOutcome['outcome']; cancel?: () => void }>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #warned = new Set<string>();
  #work: Promise<void> = Promise.resolve();
  #reporting: Promise<void> = Promise.resolve();
  #reportTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: Ieee2030_5SeamOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  sites(): ReadonlyMap<string, string> {
    return this.#sites;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const cert = await readPem('certificate', config.certificate);
    const key = await readPem('key', config.key);
    const ca = Array.isArray(config.ca)
      ? await Promise.all(config.ca.map((path, index) => readPem(`ca[${index}]`, path)))
      : await readPem('ca', config.ca);
    let ownLfdi: string;
    try {
      ownLfdi = lfdiFromPem(cert).toLowerCase();
    } catch (error) {
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `utility.ieee2030_5.certificate: ${config.certificate} is not a PEM certificate (${errorText(error)})`,
        { cause: error },
      );
    }
    if (config.mode === 'direct' && config.siteId !== undefined) this.#sites.set(ownLfdi, config.siteId);
    for (const entry of config.endDevices ?? []) this.#sites.set(entry.lfdi.toLowerCase(), entry.siteId);
    for (const [lfdi, siteId] of this.#sites)
      if (!(await this.#options.store.sites.get(siteId)))
        throw new GridseamError(
          'GW_ERR_CONFIG',
          `utility.ieee2030_5: EndDevice ${lfdi} maps to a missing site ${siteId}`,
        );

    const log = this.#logger;
    this.client = createSepClient(
      {
        dcapUrl: config.dcapUrl,
        mode: config.mode,
        profile: config.profile,
        ...(config.csipausVersion === undefined ? {} : { csipausVersion: `v${config.csipausVersion}` as const }),
        tls: { cert, key, ca, timeoutMs: config.timeoutMs },
        lfdi: ownLfdi,
        ...(config.mode === 'aggregator' ? { endDeviceLfdis: [...this.#sites.keys()] } : {}),
        registration: config.registration,
        ...(config.pin === undefined ? {} : { pin: config.pin }),
        ...(config.nmi === undefined ? {} : { connectionPointId: config.nmi }),
        minPollSeconds: config.minPollSeconds,
        maxPollSeconds: config.maxPollSeconds,
        retrySeconds: config.retrySeconds,
        ...(config.commsLossFallbackSeconds === undefined
          ? {}
          : { commsLossFallbackSeconds: config.commsLossFallbackSeconds }),
        ...(config.responseStatuses === undefined ? {} : { responseStatuses: config.responseStatuses }),
        pen: config.pen,
        defaultPostRate: config.postRateSeconds,
        setMaxW: (lfdi) => this.#setMaxW.get(lfdi.toLowerCase()),
        ...(config.notifications === undefined ? {} : { notifications: notificationOptions(config.notifications) }),
      },
      {
        store: auditPostedResponses(
          documentClientStateStore(this.#options.store, config.stateNamespace),
          (response) => this.#auditResponse(response),
          (error, response) =>
            log.warn(
              { err: errorText(error), mRID: response.mRID, status: response.status },
              '2030.5 Response not audited',
            ),
        ),
        now: () => Math.floor(this.#now() / 1000),
        log: (level, message, details) => log[level](details ?? {}, `2030.5 client: ${message}`),
        telemetry: (endDevice) => this.#telemetry(endDevice),
        ...(this.#options.transport === undefined ? {} : { transport: this.#options.transport }),
      },
    );
    this.#unsubscribe.push(
      this.client.on('controls', (update) => {
        this.#work = this.#work.then(() =>
          this.#onControls(update).catch((error: unknown) =>
            log.warn({ err: error, lfdi: update.endDevice.lfdi }, '2030.5 controls not applied'),
          ),
        );
      }),
      this.client.on('error', (error) => log.warn({ code: error.code, err: error.message }, '2030.5 client error')),
      this.client.on('poll', (report) => {
        if (!report.ok) log.debug({ failures: report.failures.length }, '2030.5 poll incomplete');
      }),
    );
    const engine = this.#options.engine;
    if (engine !== undefined) this.#unsubscribe.push(engine.on('outcome', (outcome) => this.#onOutcome(outcome)));
    await this.client.start();
    log.info(
      { endDevices: this.client.endDevices().map((e) => e.lfdi), mode: config.mode, profile: config.profile },
      '2030.5 client started',
    );
    await this.reportNow();
    this.#scheduleReports();
  }

  idle(): Promise<void> {
    return this.#work;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reportTimer !== undefined) clearTimeout(this.#reportTimer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    for (const entry of this.#outcomes.values()) entry.cancel?.();
    await this.client?.stop();
    await this.#work;
    await this.#reporting;
  }

  // ------------------------------------------------------------------ controls -> programs and events

  #siteOf(lfdi: string): string | undefined {
    const site = this.#sites.get(lfdi.toLowerCase());
    if (site === undefined && !this.#warned.has(lfdi)) {
      this.#warned.add(lfdi);
      this.#logger.warn({ lfdi }, '2030.5 EndDevice is not mapped to a site; its controls are ignored');
    }
    return site;
  }

  async #onControls(update: ControlsUpdate): Promise<void> {
    if (this.#closed) return;
    const lfdi = update.endDevice.lfdi;
    const siteId = this.#siteOf(lfdi);
    if (siteId === undefined) return;
    const drafts = this.client.programEvents(lfdi);
    // Programs: those with controls and those whose DefaultDERControl is in force.
    const programs = new Map<string, { primacy: number; defaults: Program['defaultControls'] }>();
    for (const draft of drafts)
      if (!programs.has(draft.programId)) programs.set(draft.programId, { primacy: draft.primacy, defaults: [] });
    for (const setpoint of update.setpoints) {
      const href = setpoint.source.programHref;
      const entry = programs.get(href) ?? { primacy: setpoint.source.primacy, defaults: [] };
      if (setpoint.source.kind === 'default') entry.defaults?.push({ kind: setpoint.kind, value: setpoint.value });
      programs.set(href, entry);
    }
    for (const [href, entry] of programs) {
      const programId = await this.#ensureProgram(href, entry.primacy, entry.defaults ?? []);
      await this.#ensureEnrolment(programId, siteId);
    }
    for (const draft of drafts) await this.#submit(draft, update, siteId);
  }

  async #ensureProgram(
    href: string,
    primacy: number,
    defaults: NonNullable<Program['defaultControls']>,
  ): Promise<string> {
    const id = programIdOf(href);
    const sorted = [...defaults].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
    const fingerprint = JSON.stringify([primacy, sorted]);
    if (this.#programs.get(id) === fingerprint) return id;
    const program: Program = {
      id,
      name: `IEEE 2030.5 program ${href}`.slice(0, 256),
      kind: 'dynamic-export',
      source: SOURCE,
      primacy: Math.max(0, Math.min(255, primacy)),
      description: `DERProgram ${href} of ${this.#config.dcapUrl}`.slice(0, 4096),
      ...(sorted.length > 0 ? { defaultControls: sorted } : {}),
    };
    await upsertProgram(this.#options.store, this.#options.registry, program, IEEE2030_5_ACTOR);
    this.#programs.set(id, fingerprint);
    return id;
  }

  async #ensureEnrolment(programId: string, siteId: string): Promise<void> {
    const id = canonicalId('sep.', `${siteId}.${programId.slice(4)}`);
    if (this.#enrolled.has(id)) return;
    await ensureEnrolment(
      this.#options.store,
      this.#options.registry,
      { id, programId, siteId, validFrom: this.#now(), status: 'active' },
      IEEE2030_5_ACTOR,
    );
    this.#enrolled.add(id);
  }

  async #submit(draft: ProgramEventDraft, update: ControlsUpdate, siteId: string): Promise<void> {
    const mRID = draft.externalId;
    const sites = this.#controlSites.get(mRID) ?? new Set<string>();
    sites.add(siteId);
    this.#controlSites.set(mRID, sites);
    const programId = programIdOf(draft.programId);
    const intervals = draft.intervals.map((interval) => ({
      ...interval,
      start: Math.round(interval.start),
    }));
    // The client's effective window (randomizeDuration applied) ends the event where it ends.
    const applied = update.setpoints.find((s) => s.source.kind === 'program' && s.source.ref?.toLowerCase() === mRID);
    const first = intervals[0];
    if (applied?.until !== undefined && first !== undefined && intervals.length === 1)
      first.durationS = Math.max(1, Math.min(31_536_000, Math.round(applied.until - first.start / 1000)));

    const existing =
      (await this.#options.store.events.get(draft.id)) ??
      (await this.#options.store.events.getByExternalId(SOURCE, mRID));
    let status: ProgramEvent['status'];
    let reason: string | undefined;
    if (existing === undefined) status = draft.status === 'active' ? 'scheduled' : draft.status;
    else if ((draft.status === 'cancelled' || draft.status === 'superseded') && LIVE.has(existing.status)) {
      status = draft.status;
      reason = `the utility reports the DERControl ${draft.status}`;
    } else status = existing.status;

    const event: ProgramEvent = {
      id: existing?.id ?? draft.id,
      programId,
      source: SOURCE,
      externalId: mRID,
      primacy: draft.primacy,
      intervals,
      targets: { siteIds: [...sites].sort() },
      status,
      statusHistory: draft.statusHistory.map((change) => ({ ...change, at: Math.round(change.at) })),
      createdAt: Math.round(draft.createdAt),
      ...(draft.randomizeStartS === undefined ? {} : { randomizeStartS: draft.randomizeStartS }),
      ...(draft.randomizeDurationS === undefined ? {} : { randomizeDurationS: draft.randomizeDurationS }),
    };
    const fingerprint = JSON.stringify([event.programId, event.primacy, event.intervals, event.targets, event.status]);
    if (this.#events.get(event.id) === fingerprint) return;
    if (existing === undefined && !LIVE.has(status)) {
      // Already over when first seen: nothing to apply; remember it so it is not looked up again.
      this.#events.set(event.id, fingerprint);
      return;
    }
    const engine = this.#options.engine;
    if (engine !== undefined) {
      if (existing !== undefined && status !== existing.status)
        event.statusHistory = [{ status, at: this.#now(), ...(reason === undefined ? {} : { reason }) }];
      await engine.submitEvent(event);
    } else await this.#writeThroughRegistry(event, existing, reason);
    this.#events.set(event.id, fingerprint);
    this.#logger.info(
      { eventId: event.id, mRID, status, sites: event.targets.siteIds, signals: event.intervals[0]?.signals },
      '2030.5 control handed to the control engine',
    );
  }

  async #writeThroughRegistry(
    event: ProgramEvent,
    existing: ProgramEvent | undefined,
    reason: string | undefined,
  ): Promise<void> {
    await writeEventThroughRegistry(this.#options.registry, event, existing, reason, IEEE2030_5_ACTOR);
  }

  // ------------------------------------------------------------------ outcomes -> Responses

  /** One audit row per Response the client posted, on the DERControl's event (ieee2030-5-response-audit.ts). */
  async #auditResponse(response: ResponseRecordDoc): Promise<void> {
    const event = await this.#options.store.events.getByExternalId(SOURCE, response.mRID);
    await this.#options.store.audit.append({
      at: this.#now(),
      actor: IEEE2030_5_ACTOR,
      action: IEEE2030_5_RESPONSE_ACTION,
      targetType: 'event',
      // The event may not be written yet (Response 1 can be posted first): its id will be `sep.<mRID>`.
      targetId: event?.id ?? `sep.${response.mRID}`,
      detail: responseDetail(response),
    });
  }

  #onOutcome(outcome: EventOutcome): void {
    if (outcome.source !== SOURCE || outcome.externalId === undefined || this.#closed) return;
    const mRID = outcome.externalId;
    const previous = this.#outcomes.get(outcome.eventId);
    previous?.cancel?.();
    const entry: { outcome: EventOutcome['outcome']; cancel?: () => void } = { outcome: outcome.outcome };
    this.#outcomes.set(outcome.eventId, entry);
    this.#logger.info(
      { eventId: outcome.eventId, mRID, outcome: outcome.outcome, reason: outcome.reason },
      '2030.5 control outcome',
    );
    const status = this.#config.failureResponse;
    if (outcome.outcome !== 'failed' || status === 0) return;
    const post = () => {
      if (this.#closed || this.#outcomes.get(outcome.eventId) !== entry) return;
      this.client
        .reportOutcome(mRID, status)
        .then(() => this.#logger.warn({ mRID, status, reason: outcome.reason }, '2030.5 failure Response posted'))
        .catch((error: unknown) => this.#logger.warn({ mRID, err: errorText(error) }, 'failure Response not posted'));
    };
    const graceMs = this.#config.failureGraceSeconds * 1000;
    if (graceMs === 0) {
      post();
      return;
    }
    const timer = setTimeout(post, graceMs);
    timer.unref();
    entry.cancel = () => clearTimeout(timer);
  }

  // ------------------------------------------------------------------ reports up

  async #snapshot(siteId: string): Promise<SiteSnapshot> {
    const store = this.#options.store;
    const devices = await listAll((page) => store.devices.list({ ...page, siteId }));
    const latest = new Map<string, LatestValues>();
    for (const device of devices) latest.set(device.id, latestValues(await store.telemetry.latest(device.id)));
    return { devices, latest };
  }

  async #telemetry(endDevice: EndDeviceRef): Promise<ReadingsInput | undefined> {
    const siteId = this.#sites.get(endDevice.lfdi.toLowerCase());
    if (siteId === undefined) return undefined;
    return siteReadings(await this.#snapshot(siteId));
  }

  reportNow(): Promise<void> {
    const run = this.#reporting.then(() => this.#report());
    this.#reporting = run.catch(() => undefined);
    return run;
  }

  #scheduleReports(): void {
    if (this.#closed) return;
    this.#reportTimer = setTimeout(() => {
      this.reportNow()
        .catch((error: unknown) => this.#logger.warn({ err: errorText(error) }, '2030.5 reports failed'))
        .finally(() => this.#scheduleReports());
    }, this.#config.reportIntervalSeconds * 1000);
    this.#reportTimer.unref();
  }

  async #report(): Promise<void> {
    if (this.#closed) return;
    const serverNow = Math.floor(this.#now() / 1000) + Math.round(this.client.clockOffset());
    for (const endDevice of this.client.endDevices()) {
      const siteId = this.#sites.get(endDevice.lfdi);
      if (siteId === undefined) continue;
      const reports = siteReports(await this.#snapshot(siteId));
      if (reports.setMaxW !== undefined) this.#setMaxW.set(endDevice.lfdi, reports.setMaxW);
      const sent = this.#reports.get(endDevice.lfdi) ?? new Map<string, string>();
      const changed = (name: string, value: unknown): boolean => {
        if (value === undefined) return false;
        return sent.get(name) !== JSON.stringify(value);
      };
      const statusKey = reports.status && { ...reports.status, socPct: Math.round(reports.status.socPct ?? -1) };
      const availabilityKey = reports.availability && {
        ...reports.availability,
        availableW: Math.round((reports.availability.availableW ?? 0) / 100),
        availabilityDurationS: Math.round((reports.availability.availabilityDurationS ?? 0) / 600),
      };
      const keys: Record<string, unknown> = {
        capability: reports.capability,
        settings: reports.settings,
        status: statusKey,
        availability: availabilityKey,
      };
      const due = Object.keys(keys).filter((name) => changed(name, keys[name]));
      if (due.length === 0) continue;
      if (due.includes('settings')) this.#settingsAt.set(endDevice.lfdi, serverNow);
      const updatedTime = this.#settingsAt.get(endDevice.lfdi) ?? serverNow;
      try {
        await this.client.putDerReports(endDevice.lfdi, {
          ...(due.includes('capability') && reports.capability ? { capability: reports.capability } : {}),
          ...(due.includes('settings') && reports.settings ? { settings: { ...reports.settings, updatedTime } } : {}),
          ...(due.includes('status') && reports.status
            ? { status: { ...reports.status, readingTime: serverNow } }
            : {}),
          ...(due.includes('availability') && reports.availability
            ? { availability: { ...reports.availability, readingTime: serverNow } }
            : {}),
        });
        for (const name of due) sent.set(name, JSON.stringify(keys[name]));
        this.#reports.set(endDevice.lfdi, sent);
        this.#logger.debug({ lfdi: endDevice.lfdi, siteId, sent: due }, '2030.5 DER reports sent');
      } catch (error) {
        this.#logger.warn({ lfdi: endDevice.lfdi, siteId, err: errorText(error) }, '2030.5 DER reports not sent');
      }
    }
  }
}
