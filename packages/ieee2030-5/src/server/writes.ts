/**
 * What clients write: in-band registration, MirrorUsagePoints and readings, Responses, DER documents,
 * the CSIP-AUS ConnectionPoint, Subscriptions and LogEvents. Each write is decided and persisted inside one
 * SepState transaction; the caller answers only after it resolved.
 */
import { isIP } from 'node:net';
import { GridseamError } from '@gridseam/model';
import { parseSep } from '../codec/index.ts';
import { sfdiFromLfdi } from '../identity/lfdi.ts';
import type {
  ConnectionPoint,
  EndDevice,
  LogEvent,
  MirrorMeterReading,
  MirrorUsagePoint,
  Reading,
  ResourceName,
  ResourceTypes,
  Subscription,
} from '../resources/types.ts';
import type {
  DerReportKind,
  DerReportRecord,
  EndDeviceRecord,
  LogEventRecord,
  MirrorMeterReadingDef,
  MirrorReadingRecord,
  MirrorUsagePointRecord,
  PollRateFamily,
  ResponseRecord,
  SubscriptionRecord,
} from './contract.ts';
import type { ClientAccess, ServerCore } from './core.ts';
import { notFoundError } from './core.ts';
import { isForbiddenNotificationAddress } from './notifications.ts';
import { href, parsePath, RESPONSE_SET_ID, type Route } from './routes.ts';
import { type Change, change } from './state.ts';

/** Routes a Subscription may name (the resources the server notifies about). */
export const SUBSCRIBABLE_ROUTES: ReadonlySet<Route['kind']> = new Set([
  'edevList',
  'edev',
  'fsaList',
  'fsaDerpList',
  'derpList',
  'derp',
  'dercList',
  'actdercList',
  'derc',
  'dderc',
]);

/** Subscriptions one EndDevice may hold. */
const MAX_SUBSCRIPTIONS_PER_DEVICE = 100;
/** LogEvents kept per EndDevice (oldest dropped first). */
const MAX_LOG_EVENTS_PER_DEVICE = 1000;
/** Readings accepted in one POST. */
const MAX_READINGS_PER_POST = 1000;

export function forbidden(message: string): GridseamError {
  return new GridseamError('GW_ERR_FORBIDDEN', message);
}

function invalid(message: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message);
}

/** A change that affects what subscribers see; the server turns these into Notifications. */
export type ChangeEvent =
  | { kind: 'controls'; programId: string; endDeviceIds: readonly number[] | undefined; mRIDs: readonly string[] }
  | { kind: 'defaultControl'; programId: string; endDeviceId: number | undefined }
  | { kind: 'programs' }
  | { kind: 'pollRate'; family: PollRateFamily }
  | { kind: 'endDevices'; ids: readonly number[] };

export interface WriteResult {
  status: 201 | 204;
  location?: string;
}

export class ClientWrites {
  constructor(
    private readonly core: ServerCore,
    private readonly onChange: (event: ChangeEvent) => void,
  ) {}

  #parse<N extends ResourceName>(body: string, expect: N | readonly N[]) {
    return parseSep(body, { maxBytes: this.core.options.bodyLimit, expect });
  }

  // -------------------------------------------------------------------------------------------------------------
  // EndDevice registration (POST /edev)
  // -------------------------------------------------------------------------------------------------------------

  /**
   * In-band registration (CSIP IG §6.1.3/6.1.4). A direct client may register only its own certificate's
   * LFDI (CACTUS S-ALL-52); an aggregator (a certificate registered as one, or already managing EndDevices)
   * registers the EndDevices it manages. Posting an EndDevice that already exists for this client answers
   * its Location again. In the out-of-band model the POST is refused with 403 (CSIP IG §6.1.2).
   */
  async registerEndDevice(access: ClientAccess, body: string): Promise<WriteResult> {
    const { core } = this;
    if (core.options.registration === 'out-of-band')
      throw forbidden('EndDevices are registered out of band by the utility; in-band registration is not offered');
    const doc = parseEndDevice(body, core.options.bodyLimit);
    const sfdi = doc.sFDI;
    const created = await core.state.transact<EndDeviceRecord>(() => {
      const state = core.state;
      const own = access.self ?? state.endDeviceByLfdi.get(access.lfdi);
      const aggregator = own?.role === 'aggregator' || (state.devicesByAggregator.get(access.lfdi)?.length ?? 0) > 0;
      const lfdi = doc.lFDI ?? (aggregator ? undefined : access.lfdi);
      if (lfdi === undefined) throw invalid('an aggregator must give the lFDI of the EndDevice it registers');
      if (sfdi !== sfdiFromLfdi(lfdi)) throw invalid('sFDI does not belong to lFDI (IEEE 2030.5 §6.3.3)');
      const existing = core.deviceByLfdi(lfdi);
      if (!aggregator && lfdi !== access.lfdi)
        throw forbidden('the lFDI does not match the client certificate; a device registers only itself');
      if (existing !== undefined) {
        // CACTUS S-ALL-51 / S-OPT-01: registering an EndDevice that exists is refused.
        if (!core.canAccess(access, existing)) throw forbidden('that EndDevice is registered to another client');
        throw new GridseamError(
          'GW_ERR_CONFLICT',
          `an EndDevice with this LFDI is already registered (${href.edev(existing.id)})`,
        );
      }
      const now = core.now();
      const id = state.nextId('endDevice');
      const record: EndDeviceRecord = {
        id,
        lfdi,
        sfdi,
        pin: core.options.registrationPin,
        role: 'device',
        enabled: true,
        registeredBy: 'in-band',
        registeredAt: now,
        changedTime: now,
      };
      if (lfdi !== access.lfdi) record.aggregatorLfdi = access.lfdi;
      if (doc.deviceCategory !== undefined) record.deviceCategory = doc.deviceCategory;
      if (doc.postRate !== undefined) record.postRate = doc.postRate;
      return { changes: [change('endDevice', id, record)], result: record };
    });
    this.onChange({ kind: 'endDevices', ids: [created.id] });
    this.#observe(() => core.options.observers.onEndDeviceRegistered?.(created));
    return { status: 201, location: href.edev(created.id) };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Metering mirror
  // -------------------------------------------------------------------------------------------------------------

  /**
   * POST /mup: creates a MirrorUsagePoint, or updates the one with the same mRID (roleFlags, reading types:
   * overwritten, never duplicated — CACTUS S-ALL-07). The mirrored EndDevice (deviceLFDI) must be one this
   * client may see; MirrorMeterReading mRIDs may not collide with another MUP's (S-ALL-05).
   */
  async postMirrorUsagePoint(access: ClientAccess, body: string): Promise<WriteResult> {
    const { core } = this;
    const doc = this.#parse(body, 'MirrorUsagePoint').value as MirrorUsagePoint;
    const target = core.deviceByLfdi(doc.deviceLFDI);
    if (!core.canAccess(access, target))
      throw forbidden('deviceLFDI is not an EndDevice this client is registered for');
    const readingsIn = doc.MirrorMeterReading ?? [];
    const seen = new Set<string>();
    for (const reading of readingsIn) {
      if (seen.has(reading.mRID)) throw invalid(`MirrorMeterReading mRID ${reading.mRID} appears twice`);
      seen.add(reading.mRID);
    }
    const { result, readings } = await core.state.transact(() => {
      const state = core.state;
      const existing = state.mupByMrid.get(doc.mRID);
      if (existing !== undefined && existing.ownerLfdi !== access.lfdi)
        throw new GridseamError('GW_ERR_CONFLICT', 'a MirrorUsagePoint with this mRID belongs to another client');
      for (const reading of readingsIn) {
        const owner = state.mmrOwner.get(reading.mRID);
        if (owner !== undefined && owner !== existing?.id)
          throw new GridseamError(
            'GW_ERR_CONFLICT',
            `MirrorMeterReading mRID ${reading.mRID} belongs to another MirrorUsagePoint`,
          );
      }
      const now = core.now();
      const id = existing?.id ?? state.nextId('mirrorUsagePoint');
      const record: MirrorUsagePointRecord = {
        id,
        mRID: doc.mRID,
        roleFlags: doc.roleFlags,
        serviceCategoryKind: doc.serviceCategoryKind,
        status: doc.status,
        deviceLFDI: doc.deviceLFDI,
        ownerLfdi: access.lfdi,
        endDeviceId: target.id,
        MirrorMeterReading: readingsIn.map(definitionOf),
        changedTime: now,
      };
      if (doc.description !== undefined) record.description = doc.description;
      if (doc.postRate !== undefined) record.postRate = doc.postRate;
      const changes: Change[] = [change('mirrorUsagePoint', id, record)];
      const readings = this.#readingChanges(record, readingsIn, changes, now);
      return { changes, result: { result: { status: 201 as const, location: href.mup(id) }, readings } };
    });
    this.#emitReadings(readings);
    return result;
  }

  /** POST /mup/{id}: a MirrorMeterReading or a MirrorMeterReadingList with readings (and new reading types). */
  async postMirrorMeterReadings(access: ClientAccess, mupId: number, body: string): Promise<WriteResult> {
    const { core } = this;
    const parsed = this.#parse(body, ['MirrorMeterReading', 'MirrorMeterReadingList']);
    const posted: MirrorMeterReading[] =
      parsed.name === 'MirrorMeterReading'
        ? [parsed.value as MirrorMeterReading]
        : (parsed.value as ResourceTypes['MirrorMeterReadingList']).MirrorMeterReading;
    const readings = await core.state.transact(() => {
      const state = core.state;
      const mup = state.mups.get(mupId);
      if (mup === undefined || mup.ownerLfdi !== access.lfdi) throw notFoundError('no such MirrorUsagePoint');
      const definitions = [...mup.MirrorMeterReading];
      let changed = false;
      for (const reading of posted) {
        if (definitions.some((definition) => definition.mRID === reading.mRID)) continue;
        const owner = state.mmrOwner.get(reading.mRID);
        if (owner !== undefined && owner !== mup.id)
          throw new GridseamError(
            'GW_ERR_CONFLICT',
            `MirrorMeterReading mRID ${reading.mRID} belongs to another MirrorUsagePoint`,
          );
        if (reading.ReadingType === undefined)
          throw invalid(`MirrorMeterReading ${reading.mRID} is unknown here and carries no ReadingType`);
        definitions.push(definitionOf(reading));
        changed = true;
      }
      const now = core.now();
      const changes: Change[] = [];
      const record = changed ? { ...mup, MirrorMeterReading: definitions, changedTime: now } : mup;
      if (changed) changes.push(change('mirrorUsagePoint', mup.id, record));
      const readings = this.#readingChanges(record, posted, changes, now);
      return { changes, result: readings };
    });
    this.#emitReadings(readings);
    return { status: 201, location: href.mup(mupId) };
  }

  #readingChanges(
    mup: MirrorUsagePointRecord,
    posted: readonly MirrorMeterReading[],
    changes: Change[],
    now: number,
  ): MirrorReadingRecord[] {
    const state = this.core.state;
    const out: MirrorReadingRecord[] = [];
    for (const mmr of posted) {
      const values: Reading[] = [];
      if (mmr.Reading !== undefined) values.push(mmr.Reading);
      for (const set of mmr.MirrorReadingSet ?? []) values.push(...(set.Reading ?? []));
      if (values.length === 0) continue;
      const key = `${mup.id}/${mmr.mRID}`;
      const existing = state.readingsByMmr.get(key) ?? [];
      for (const reading of values) {
        if (reading.value === undefined) throw invalid(`a Reading of MirrorMeterReading ${mmr.mRID} has no value`);
        if (out.length >= MAX_READINGS_PER_POST) throw invalid(`at most ${MAX_READINGS_PER_POST} readings per POST`);
        const seq = state.nextId('mirrorReading');
        const record: MirrorReadingRecord = {
          id: `${mup.id}/${seq}`,
          mupId: mup.id,
          mmrMRID: mmr.mRID,
          value: reading.value,
          receivedAt: now,
        };
        if (reading.timePeriod !== undefined) {
          record.start = reading.timePeriod.start;
          record.duration = reading.timePeriod.duration;
        }
        if (reading.qualityFlags !== undefined) record.qualityFlags = reading.qualityFlags;
        changes.push(change('mirrorReading', record.id, record));
        out.push(record);
      }
      // Retention: drop the oldest readings of this MirrorMeterReading beyond the configured count.
      const mine = out.filter((record) => record.mmrMRID === mmr.mRID);
      const surplus = existing.length + mine.length - this.core.options.readingRetention;
      for (let index = 0; index < surplus && index < existing.length; index += 1) {
        const old = existing[index];
        if (old !== undefined) changes.push(change('mirrorReading', old.id, null));
      }
    }
    return out;
  }

  #emitReadings(readings: MirrorReadingRecord[]): void {
    if (readings.length > 0) this.#observe(() => this.core.options.observers.onReadings?.(readings));
  }

  async deleteMirrorUsagePoint(access: ClientAccess, mupId: number): Promise<void> {
    const { core } = this;
    await core.state.transact(() => {
      const mup = core.state.mups.get(mupId);
      if (mup === undefined || mup.ownerLfdi !== access.lfdi) throw notFoundError('no such MirrorUsagePoint');
      return { changes: mupRemovalChanges(core, mup), result: undefined };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Responses (POST /rsps/derc/rsp)
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Stores a DERControl Response (2030.5 §12.x Response function set). Rejected with 400: an unknown subject
   * mRID, an endDeviceLFDI that is not registered, a control that does not apply to that EndDevice, or a
   * status not accepted (CACTUS S-ALL-57); 403 when the LFDI is registered but not this client's. A Response
   * to a control that has since been cancelled is accepted (S-ALL-42).
   */
  async postResponse(access: ClientAccess, setId: string, body: string): Promise<WriteResult> {
    const { core } = this;
    const parsed = this.#parse(body, ['DERControlResponse', 'Response']);
    const doc = parsed.value as ResourceTypes['Response'];
    const record = await core.state.transact(() => {
      const state = core.state;
      const subject = doc.subject.toLowerCase();
      const control = state.controls.get(subject);
      if (control === undefined) throw invalid(`subject ${doc.subject} is not a DERControl mRID of this server`);
      const lfdi = doc.endDeviceLFDI.toLowerCase();
      const device = core.deviceByLfdi(lfdi);
      if (device === undefined) throw invalid(`endDeviceLFDI ${doc.endDeviceLFDI} is not a registered EndDevice`);
      if (!core.canAccess(access, device)) throw forbidden('endDeviceLFDI is not an EndDevice of this client');
      if (!core.controlApplies(control, device))
        throw invalid(`DERControl ${subject} does not apply to EndDevice ${lfdi}`);
      const status = doc.status ?? 0;
      if (!core.options.responseStatuses.has(status)) throw invalid(`Response status ${status} is not accepted`);
      const id = state.nextId('response');
      const response: ResponseRecord = {
        id,
        responseSetId: setId,
        endDeviceId: device.id,
        endDeviceLFDI: lfdi,
        subject,
        status,
        receivedAt: core.now(),
      };
      if (doc.createdDateTime !== undefined) response.createdDateTime = doc.createdDateTime;
      return { changes: [change('response', id, response)], result: response };
    });
    this.#observe(() => core.options.observers.onResponse?.(record));
    return { status: 201, location: href.rsp(RESPONSE_SET_ID, record.id) };
  }

  // -------------------------------------------------------------------------------------------------------------
  // DER documents and ConnectionPoint (PUT)
  // -------------------------------------------------------------------------------------------------------------

  /** PUT of DERCapability / DERSettings / DERStatus / DERAvailability: validated by the codec (types, ranges, required fields, no NaN/Infinity). */
  async putDerDocument(
    device: EndDeviceRecord,
    derId: number,
    kind: DerReportKind,
    body: string,
  ): Promise<WriteResult> {
    const { core } = this;
    const parsed = this.#parse(body, kind);
    const { href: _ignored, ...doc } = parsed.value as ResourceTypes[DerReportKind];
    // The CSIP-AUS schema makes DERCapability.doeModesSupported mandatory.
    if (kind === 'DERCapability' && core.options.csipaus && !('doeModesSupported' in doc))
      throw invalid('CSIP-AUS requires csipaus:doeModesSupported in DERCapability');
    const id = `${device.id}/${derId}/${kind}`;
    const record: DerReportRecord = {
      id,
      endDeviceId: device.id,
      derId,
      kind,
      doc: doc as DerReportRecord['doc'],
      receivedAt: core.now(),
    };
    await core.state.transact(() => {
      if (!core.state.endDevices.has(device.id)) throw notFoundError('no such EndDevice');
      return { changes: [change('derReport', id, record)], result: undefined };
    });
    this.#observe(() => core.options.observers.onDerReport?.(record));
    return { status: 204, location: href.derDoc(device.id, derId, kind) };
  }

  /** PUT of the CSIP-AUS ConnectionPoint (NMI); 409 when updates are disallowed and a different one is set. */
  async putConnectionPoint(device: EndDeviceRecord, body: string): Promise<WriteResult> {
    const { core } = this;
    const doc = this.#parse(body, 'ConnectionPoint').value as ConnectionPoint;
    const connectionPointId = doc.connectionPointId.trim();
    if (connectionPointId === '') throw invalid('connectionPointId must not be empty');
    if (core.options.nmiValidation && !isValidNmi(connectionPointId))
      throw invalid(
        'connectionPointId is not a valid NMI (10 characters A-Z without I and O, or 0-9, plus an optional checksum digit)',
      );
    await core.state.transact(() => {
      const current = core.state.endDevices.get(device.id);
      if (current === undefined) throw notFoundError('no such EndDevice');
      const existing = current.connectionPoint?.connectionPointId;
      if (existing === connectionPointId) return { changes: [], result: undefined };
      if (existing !== undefined && existing !== '' && !core.options.allowConnectionPointUpdates)
        throw new GridseamError('GW_ERR_CONFLICT', 'this utility does not allow the ConnectionPoint to be changed');
      const now = core.now();
      const record: EndDeviceRecord = { ...current, connectionPoint: { connectionPointId, changedTime: now } };
      return { changes: [change('endDevice', current.id, record)], result: undefined };
    });
    return { status: 204, location: href.cp(device.id) };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Subscriptions and LogEvents
  // -------------------------------------------------------------------------------------------------------------

  /**
   * POST /edev/{id}/sub. The subscribed resource must be one of ours that this client can GET and that the
   * server notifies about; the notificationURI must be https (http only when loopback is allowed, i.e. in
   * tests) and must not point at loopback, link-local or cloud-metadata addresses (SSRF).
   */
  async createSubscription(access: ClientAccess, device: EndDeviceRecord, body: string): Promise<WriteResult> {
    const { core } = this;
    const doc = this.#parse(body, 'Subscription').value as Subscription;
    const resource = subscribedPath(doc.subscribedResource);
    const route = resource === undefined ? undefined : parsePath(resource);
    if (resource === undefined || route === undefined || !SUBSCRIBABLE_ROUTES.has(route.kind))
      throw invalid('subscribedResource is not a resource of this server that supports subscriptions');
    // The resource must exist and be readable by this client now.
    try {
      core.resolve(route, access, { s: 0, l: 1, a: undefined }, core.now());
    } catch (error) {
      if (GridseamError.is(error) && error.statusCode === 404)
        throw invalid('subscribedResource is not a resource this client can read');
      throw error;
    }
    if (doc.encoding !== 0) throw invalid('only encoding 0 (application/sep+xml) is supported');
    if (doc.limit < 1) throw invalid('limit must be at least 1');
    checkNotificationUri(doc.notificationURI, core.options.notifications.allowLoopback);
    const record = await core.state.transact(() => {
      const state = core.state;
      if ((state.subscriptionsByDevice.get(device.id)?.length ?? 0) >= MAX_SUBSCRIPTIONS_PER_DEVICE)
        throw new GridseamError(
          'GW_ERR_CONFLICT',
          `at most ${MAX_SUBSCRIPTIONS_PER_DEVICE} subscriptions per EndDevice`,
        );
      const id = state.nextId('subscription');
      const subscription: SubscriptionRecord = {
        id,
        endDeviceId: device.id,
        subscribedResource: resource,
        notificationURI: doc.notificationURI,
        limit: Math.min(doc.limit, core.options.maxListLimit),
        encoding: doc.encoding,
        level: doc.level,
        createdAt: core.now(),
      };
      return { changes: [change('subscription', id, subscription)], result: subscription };
    });
    return { status: 201, location: href.sub(device.id, record.id) };
  }

  async deleteSubscription(device: EndDeviceRecord, subId: number): Promise<void> {
    const { core } = this;
    await core.state.transact(() => {
      const record = core.state.subscriptions.get(subId);
      if (record === undefined || record.endDeviceId !== device.id) throw notFoundError('no such Subscription');
      return { changes: [change('subscription', subId, null)], result: undefined };
    });
  }

  async postLogEvent(device: EndDeviceRecord, body: string): Promise<WriteResult> {
    const { core } = this;
    const { href: _ignored, ...doc } = this.#parse(body, 'LogEvent').value as LogEvent;
    const record = await core.state.transact(() => {
      const state = core.state;
      const id = state.nextId('logEvent');
      const event: LogEventRecord = { id, endDeviceId: device.id, doc, receivedAt: core.now() };
      const changes: Change[] = [change('logEvent', id, event)];
      const existing = state.logEventsByDevice.get(device.id) ?? [];
      for (let index = 0; index <= existing.length - MAX_LOG_EVENTS_PER_DEVICE; index += 1) {
        const old = existing[index];
        if (old !== undefined) changes.push(change('logEvent', old.id, null));
      }
      return { changes, result: event };
    });
    this.#observe(() => core.options.observers.onLogEvent?.(record));
    return { status: 201, location: href.lel(device.id, record.id) };
  }

  #observe(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.core.options.log('warn', 'a utility server observer threw', { error: String(error) });
    }
  }
}

function definitionOf(reading: MirrorMeterReading): MirrorMeterReadingDef {
  const definition: MirrorMeterReadingDef = { mRID: reading.mRID };
  if (reading.description !== undefined) definition.description = reading.description;
  if (reading.ReadingType !== undefined) definition.ReadingType = reading.ReadingType;
  return definition;
}

/**
 * An Australian National Metering Identifier as AEMO allocates them: 10 characters of digits and capital
 * letters other than I and O, optionally followed by the NMI checksum digit (AEMO "National Metering
 * Identifier" procedure: a Luhn-style sum over the characters' ASCII codes, every second one doubled from the
 * right).
 */
export function isValidNmi(value: string): boolean {
  if (!/^[A-HJ-NP-Z0-9]{10}[0-9]?$/.test(value)) return false;
  if (value.length === 10) return true;
  let sum = 0;
  let double = true;
  for (let index = 9; index >= 0; index -= 1) {
    let code = value.charCodeAt(index);
    if (double) code *= 2;
    double = !double;
    while (code > 0) {
      sum += code % 10;
      code = Math.floor(code / 10);
    }
  }
  return (10 - (sum % 10)) % 10 === Number(value[10]);
}

/** Changes that remove a MUP with its readings. */
export function mupRemovalChanges(core: ServerCore, mup: MirrorUsagePointRecord): Change[] {
  const changes: Change[] = [change('mirrorUsagePoint', mup.id, null)];
  for (const definition of mup.MirrorMeterReading) {
    for (const reading of core.state.readingsByMmr.get(`${mup.id}/${definition.mRID}`) ?? [])
      changes.push(change('mirrorReading', reading.id, null));
  }
  return changes;
}

/**
 * An EndDevice POST body. Some clients (older envoy-schema request models) omit EndDevice.changedTime, which
 * the schema requires but the server ignores (it sets its own); it is tolerated by supplying 0.
 */
function parseEndDevice(body: string, maxBytes: number): EndDevice {
  try {
    return parseSep(body, { maxBytes, expect: 'EndDevice' }).value;
  } catch (error) {
    if (!GridseamError.is(error) || error.details?.path !== 'EndDevice/changedTime') throw error;
    const close = /<\/((?:[A-Za-z_][\w.-]*:)?)EndDevice\s*>\s*$/.exec(body);
    if (close === null) throw error;
    const patched = `${body.slice(0, close.index)}<${close[1]}changedTime>0</${close[1]}changedTime>${body.slice(close.index)}`;
    return parseSep(patched, { maxBytes: maxBytes + 64, expect: 'EndDevice' }).value;
  }
}

/** The path of a subscribedResource (absolute href, or a URL of this server), lower-cased; undefined if unusable. */
function subscribedPath(value: string): string | undefined {
  let path = value.trim();
  if (/^https?:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return undefined;
    }
  }
  if (!path.startsWith('/') || path.includes('?')) return undefined;
  return path.toLowerCase();
}

/** Throws GW_ERR_VALIDATION unless the URI is one the server may POST notifications to. */
export function checkNotificationUri(value: string, allowLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('notificationURI is not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowLoopback && url.protocol === 'http:'))
    throw invalid('notificationURI must be an https URL');
  if (url.username !== '' || url.password !== '') throw invalid('notificationURI must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !allowLoopback && isForbiddenNotificationAddress(host))
    throw invalid('notificationURI points at a loopback, link-local or metadata address');
  if (!allowLoopback && /^localhost\.?$/i.test(host)) throw invalid('notificationURI points at localhost');
  return url;
}
