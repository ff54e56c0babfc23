/**
 * The read side of the utility server: who may see what, which controls apply to an EndDevice, and the
 * 2030.5 resources built from the records (plain objects in the codec's shape, emitted by the caller).
 * Everything here works on memory and indexes only; no request scans all EndDevices or all controls.
 */
import { GridseamError } from '@gridseam/model';
import { earliestEffectiveStart, serverEventStatus, visibleUntil } from '../events/index.ts';
import type { ScheduledControl } from '../events/types.ts';
import { sfdiFromLfdi } from '../identity/lfdi.ts';
import type {
  DERControl,
  DERControlBase,
  DERCurve,
  DERProgram,
  DefaultDERControl,
  EndDevice,
  FunctionSetAssignments,
  MirrorUsagePoint,
  ResourceName,
  ResourceTypes,
  Response,
  Subscription,
} from '../resources/types.ts';
import type {
  ControlBase,
  ControlRecord,
  CurveRecord,
  DefaultControlRecord,
  EndDeviceRecord,
  FsaRecord,
  LogEventRecord,
  MirrorUsagePointRecord,
  PollRateFamily,
  ProgramRecord,
  ResponseRecord,
  SubscriptionRecord,
} from './contract.ts';
import { CURVE_MODES } from './contract.ts';
import type { ResolvedOptions } from './options.ts';
import { type DeviceRoute, href, type Paging, RESPONSE_SET_ID, type Route } from './routes.ts';
import type { SepState } from './state.ts';
import { activePowerFromWatts, derivedMrid } from './util.ts';

/** Who is asking. `system` sees everything (used to render notifications). */
export interface ClientAccess {
  /** Lower-case LFDI of the client certificate ('' for system). */
  lfdi: string;
  /** Its SFDI (matches EndDevices registered by SFDI only). */
  sfdi: number;
  /** The client's own EndDevice, when registered and enabled. */
  self: EndDeviceRecord | undefined;
  system: boolean;
}

export const SYSTEM_ACCESS: ClientAccess = Object.freeze({ lfdi: '', sfdi: -1, self: undefined, system: true });

/** A resource ready to emit, and until when (epoch seconds, exclusive) it stays the same without writes. */
export interface Rendered {
  doc: { [K in ResourceName]: { name: K; value: ResourceTypes[K] } }[ResourceName];
  until: number;
}

const FOREVER = Number.POSITIVE_INFINITY;

/** 2030.5 DERControl list ordering: interval start ascending, then creationTime descending, then mRID descending. */
function compareControls(a: ControlRecord, b: ControlRecord): number {
  return a.start - b.start || b.creationTime - a.creationTime || (a.mRID < b.mRID ? 1 : a.mRID > b.mRID ? -1 : 0);
}

function slice<T>(items: readonly T[], paging: Paging): T[] {
  return items.slice(paging.s, paging.s + paging.l);
}

function rendered<K extends ResourceName>(name: K, value: ResourceTypes[K], until = FOREVER): Rendered {
  return { doc: { name, value } as Rendered['doc'], until };
}

const CSIPAUS_BASE_KEYS = [
  'opModImpLimW',
  'opModExpLimW',
  'opModGenLimW',
  'opModLoadLimW',
  'opModStorageTargetW',
] as const;

export class ServerCore {
  readonly #scheduled = new WeakMap<ControlRecord, ScheduledControl>();
  readonly #sharedVisible = new Map<string, { rev: number; until: number; items: ControlRecord[] }>();
  readonly #visibleDevices = new Map<string, { rev: number; devices: EndDeviceRecord[] }>();

  constructor(
    readonly options: ResolvedOptions,
    readonly state: SepState,
  ) {}

  now(): number {
    return this.options.now();
  }

  pollRate(family: PollRateFamily): number {
    return this.state.settings.pollRates[family] ?? this.options.pollRates[family];
  }

  /** The postRate an EndDevice / MUP should use: its own, else the server setting, else the variance. */
  postRate(own: number | undefined): number | undefined {
    return own ?? this.state.settings.postRate ?? this.options.postRate;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Access
  // -------------------------------------------------------------------------------------------------------------

  accessFor(lfdi: string): ClientAccess {
    // The SFDI only matters for EndDevices registered by SFDI alone; skip computing it otherwise.
    const sfdi = this.state.endDeviceBySfdiOnly.size > 0 ? sfdiFromLfdi(lfdi) : -1;
    const own =
      this.state.endDeviceByLfdi.get(lfdi) ?? (sfdi < 0 ? undefined : this.state.endDeviceBySfdiOnly.get(sfdi));
    return { lfdi, sfdi, self: own?.enabled ? own : undefined, system: false };
  }

  /** The EndDevice with this LFDI (lower-case), or one registered by SFDI only whose SFDI it has. */
  deviceByLfdi(lfdi: string): EndDeviceRecord | undefined {
    const device = this.state.endDeviceByLfdi.get(lfdi);
    if (device !== undefined || !/^[0-9a-f]{40}$/.test(lfdi)) return device;
    return this.state.endDeviceBySfdiOnly.get(sfdiFromLfdi(lfdi));
  }

  /** True when the client may see this EndDevice: its own, or one its certificate manages (CSIP aggregator model). */
  canAccess(access: ClientAccess, device: EndDeviceRecord | undefined): device is EndDeviceRecord {
    if (device === undefined) return false;
    if (access.system) return true;
    if (!device.enabled) return false;
    if (device.lfdi === access.lfdi) return true;
    if (device.lfdi === '' && device.sfdi === access.sfdi && access.sfdi >= 0) return true;
    if (device.aggregatorLfdi !== access.lfdi) return false;
    // An aggregator whose own EndDevice is disabled has lost access to everything it manages.
    const aggregator = this.state.endDeviceByLfdi.get(access.lfdi);
    return aggregator === undefined || aggregator.enabled;
  }

  /** The EndDevices a client sees, its own first (the aggregator EndDevice heads the list, as envoy does). */
  visibleDevices(access: ClientAccess): EndDeviceRecord[] {
    if (access.system) return [...this.state.endDevices.values()];
    const rev = this.state.ownerRev(access.lfdi);
    const cached = this.#visibleDevices.get(access.lfdi);
    if (cached !== undefined && cached.rev === rev) return cached.devices;
    const own = access.self ?? this.state.endDeviceByLfdi.get(access.lfdi);
    const devices: EndDeviceRecord[] = [];
    if (own?.enabled) devices.push(own);
    if (own === undefined || own.enabled) {
      for (const device of this.state.devicesByAggregator.get(access.lfdi) ?? []) {
        if (device.enabled && device !== own) devices.push(device);
      }
    }
    if (this.#visibleDevices.size > 100_000) this.#visibleDevices.clear();
    this.#visibleDevices.set(access.lfdi, { rev, devices });
    return devices;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Programs and controls
  // -------------------------------------------------------------------------------------------------------------

  /** Programs an EndDevice takes part in, by primacy. The aggregator EndDevice takes part in none (CSIP p.33). */
  programsFor(device: EndDeviceRecord): ProgramRecord[] {
    if (device.role !== 'device') return [];
    const ids = device.programIds;
    if (ids === undefined) return this.state.programsByPrimacy;
    return this.state.programsByPrimacy.filter((program) => ids.includes(program.id));
  }

  programFor(device: EndDeviceRecord, programId: string): ProgramRecord | undefined {
    if (device.role !== 'device') return undefined;
    const program = this.state.programs.get(programId);
    if (program === undefined) return undefined;
    if (device.programIds !== undefined && !device.programIds.includes(programId)) return undefined;
    return program;
  }

  /** Every FunctionSetAssignments is assigned to every DER EndDevice; its DERProgramList shows the device's programs. */
  fsasFor(device: EndDeviceRecord): FsaRecord[] {
    return device.role === 'device' ? [...this.state.fsas.values()] : [];
  }

  /** The control in the shape the event rules take (memoised: records are never mutated, only replaced). */
  scheduled(control: ControlRecord): ScheduledControl {
    let value = this.#scheduled.get(control);
    if (value === undefined) {
      value = {
        mRID: control.mRID,
        creationTime: control.creationTime,
        interval: { start: control.start, duration: control.duration },
        randomizeStart: control.randomizeStart,
        randomizeDuration: control.randomizeDuration,
        DERControlBase: control.base,
        programId: control.programId,
        programPrimacy: this.state.programs.get(control.programId)?.primacy ?? 0,
        responseRequired: control.responseRequired,
        cancelled:
          control.cancelledAt === undefined
            ? undefined
            : { at: control.cancelledAt, randomized: control.cancelRandomized },
        superseded:
          control.supersededAt !== undefined
            ? { at: control.supersededAt }
            : control.superseded
              ? { at: control.creationTime }
              : undefined,
        potentiallySuperseded:
          control.potentiallySupersededAt === undefined ? undefined : { at: control.potentiallySupersededAt },
      };
      this.#scheduled.set(control, value);
    }
    return value;
  }

  isListed(control: ControlRecord, now: number): boolean {
    return now < visibleUntil(this.scheduled(control));
  }

  /** When the control leaves the DERControlList (exclusive, epoch seconds). */
  listedUntil(control: ControlRecord): number {
    return visibleUntil(this.scheduled(control));
  }

  /** The next time (after now) at which this control's status or listing changes. */
  #nextTransition(control: ControlRecord, now: number): number {
    const scheduled = this.scheduled(control);
    let next = visibleUntil(scheduled);
    const start = earliestEffectiveStart(scheduled);
    if (start > now && start < next) next = start;
    for (const at of [control.cancelledAt, control.supersededAt, control.potentiallySupersededAt]) {
      if (at !== undefined && at > now && at < next) next = at;
    }
    return next;
  }

  #sharedFor(programId: string, now: number): { until: number; items: ControlRecord[] } {
    const cached = this.#sharedVisible.get(programId);
    if (cached !== undefined && cached.rev === this.state.globalRev && now < cached.until) return cached;
    let until = FOREVER;
    const items: ControlRecord[] = [];
    for (const control of this.state.sharedControls.get(programId) ?? []) {
      if (!this.isListed(control, now)) continue;
      items.push(control);
      until = Math.min(until, this.#nextTransition(control, now));
    }
    items.sort(compareControls);
    const entry = { rev: this.state.globalRev, until, items };
    this.#sharedVisible.set(programId, entry);
    return entry;
  }

  /** The controls listed for an EndDevice in a program now, in 2030.5 order, and until when that holds. */
  controlsFor(deviceId: number, programId: string, now: number): { until: number; items: ControlRecord[] } {
    const shared = this.#sharedFor(programId, now);
    const own = this.state.deviceControls.get(`${programId}/${deviceId}`);
    if (own === undefined || own.length === 0) return shared;
    let until = shared.until;
    const items = shared.items.slice();
    for (const control of own) {
      if (!this.isListed(control, now)) continue;
      items.push(control);
      until = Math.min(until, this.#nextTransition(control, now));
    }
    items.sort(compareControls);
    return { until, items };
  }

  controlApplies(control: ControlRecord, device: EndDeviceRecord): boolean {
    if (this.programFor(device, control.programId) === undefined) return false;
    return control.endDeviceIds === undefined || control.endDeviceIds.includes(device.id);
  }

  eventStatus(control: ControlRecord, now: number) {
    return serverEventStatus(this.scheduled(control), now);
  }

  /** The DefaultDERControl of a program for an EndDevice: its own, the program's, or the variance's export limit. */
  defaultControlFor(device: EndDeviceRecord, program: ProgramRecord): DefaultControlRecord | undefined {
    const own = this.state.defaultControls.get(`${program.id}/${device.id}`);
    if (own !== undefined) return own;
    const shared = this.state.defaultControls.get(program.id);
    if (shared !== undefined) return shared;
    const watts = this.options.defaultExportLimitW;
    if (!this.options.csipaus || watts === undefined) return undefined;
    return {
      id: program.id,
      programId: program.id,
      mRID: derivedMrid(`dderc:${program.mRID}`, this.options.mridPen),
      description: 'Default export limit',
      base: { opModExpLimW: activePowerFromWatts(watts) },
      changedTime: 0,
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Rendering
  // -------------------------------------------------------------------------------------------------------------

  renderBase(base: ControlBase, deviceId: number, programId: string): DERControlBase {
    const out: Record<string, unknown> = { ...base };
    for (const mode of CURVE_MODES) {
      const link = base[mode];
      if (link !== undefined) out[mode] = { href: href.curve(deviceId, programId, link.curveId) };
    }
    if (!this.options.csipaus) for (const key of CSIPAUS_BASE_KEYS) delete out[key];
    return out as DERControlBase;
  }

  endDevice(device: EndDeviceRecord): EndDevice {
    const id = device.id;
    const isDevice = device.role === 'device';
    const postRate = this.postRate(device.postRate);
    const value: EndDevice = {
      href: href.edev(id),
      subscribable: 1,
      LogEventListLink: { href: href.lelList(id), all: this.state.logEventsByDevice.get(id)?.length ?? 0 },
      sFDI: device.sfdi,
      changedTime: device.changedTime,
      enabled: device.enabled,
      RegistrationLink: { href: href.rg(id) },
      SubscriptionListLink: { href: href.subList(id), all: this.state.subscriptionsByDevice.get(id)?.length ?? 0 },
    };
    if (device.lfdi !== '') value.lFDI = device.lfdi;
    if (device.deviceCategory !== undefined) value.deviceCategory = device.deviceCategory;
    if (postRate !== undefined) value.postRate = postRate;
    if (isDevice) {
      value.DERListLink = { href: href.derList(id), all: device.derCount ?? 1 };
      value.FunctionSetAssignmentsListLink = { href: href.fsaList(id), all: this.fsasFor(device).length };
      if (this.options.csipaus) value.ConnectionPointLink = { href: href.cp(id) };
    }
    return value;
  }

  fsa(device: EndDeviceRecord, fsa: FsaRecord): FunctionSetAssignments {
    const programs = this.programsFor(device).filter((program) => program.fsaId === fsa.id);
    return {
      href: href.fsa(device.id, fsa.id),
      mRID: fsa.mRID,
      description: fsa.description,
      DERProgramListLink: { href: href.fsaDerpList(device.id, fsa.id), all: programs.length },
      TimeLink: { href: href.tm() },
    };
  }

  derProgram(device: EndDeviceRecord, program: ProgramRecord, now: number): { value: DERProgram; until: number } {
    const { items, until } = this.controlsFor(device.id, program.id, now);
    let active = 0;
    for (const control of items) if (this.eventStatus(control, now).currentStatus === 1) active += 1;
    const value: DERProgram = {
      href: href.derp(device.id, program.id),
      subscribable: 1,
      mRID: program.mRID,
      description: program.description,
      ActiveDERControlListLink: { href: href.actdercList(device.id, program.id), all: active },
      DERControlListLink: { href: href.dercList(device.id, program.id), all: items.length },
      DERCurveListLink: {
        href: href.curveList(device.id, program.id),
        all: this.state.curvesByProgram.get(program.id)?.length ?? 0,
      },
      primacy: program.primacy,
    };
    if (program.version !== undefined) value.version = program.version;
    if (this.defaultControlFor(device, program) !== undefined)
      value.DefaultDERControlLink = { href: href.dderc(device.id, program.id) };
    return { value, until };
  }

  derControl(device: EndDeviceRecord, control: ControlRecord, now: number): DERControl {
    const status = this.eventStatus(control, now);
    const value: DERControl = {
      href: href.derc(device.id, control.programId, control.mRID),
      replyTo: href.rspList(RESPONSE_SET_ID),
      responseRequired: control.responseRequired,
      subscribable: 1,
      mRID: control.mRID,
      creationTime: control.creationTime,
      EventStatus: {
        currentStatus: status.currentStatus,
        dateTime: status.dateTime,
        potentiallySuperseded: status.potentiallySuperseded,
      },
      interval: { duration: control.duration, start: control.start },
      DERControlBase: this.renderBase(control.base, device.id, control.programId),
    };
    if (status.potentiallySupersededTime !== undefined)
      value.EventStatus.potentiallySupersededTime = status.potentiallySupersededTime;
    if (control.description !== undefined) value.description = control.description;
    if (control.version !== undefined) value.version = control.version;
    if (control.randomizeStart !== undefined) value.randomizeStart = control.randomizeStart;
    if (control.randomizeDuration !== undefined) value.randomizeDuration = control.randomizeDuration;
    return value;
  }

  defaultDerControl(device: EndDeviceRecord, program: ProgramRecord, record: DefaultControlRecord): DefaultDERControl {
    const { id: _id, programId: _programId, endDeviceId: _endDeviceId, changedTime: _changed, base, ...rest } = record;
    return {
      ...rest,
      href: href.dderc(device.id, program.id),
      subscribable: 1,
      DERControlBase: this.renderBase(base, device.id, program.id),
    };
  }

  curve(device: EndDeviceRecord, record: CurveRecord): DERCurve {
    const { id: _id, programId, curveId, ...rest } = record;
    return { ...rest, href: href.curve(device.id, programId, curveId) };
  }

  mirrorUsagePoint(record: MirrorUsagePointRecord): MirrorUsagePoint {
    const value: MirrorUsagePoint = {
      href: href.mup(record.id),
      mRID: record.mRID,
      roleFlags: record.roleFlags,
      serviceCategoryKind: record.serviceCategoryKind,
      status: record.status,
      deviceLFDI: record.deviceLFDI,
      MirrorMeterReading: record.MirrorMeterReading.map((reading) => ({ ...reading })),
    };
    if (record.description !== undefined) value.description = record.description;
    const postRate = this.postRate(record.postRate);
    if (postRate !== undefined) value.postRate = postRate;
    return value;
  }

  response(record: ResponseRecord): Response {
    const value: Response = {
      href: href.rsp(record.responseSetId, record.id),
      endDeviceLFDI: record.endDeviceLFDI,
      status: record.status,
      subject: record.subject,
    };
    if (record.createdDateTime !== undefined) value.createdDateTime = record.createdDateTime;
    return value;
  }

  subscription(record: SubscriptionRecord): Subscription {
    return {
      href: href.sub(record.endDeviceId, record.id),
      subscribedResource: record.subscribedResource,
      encoding: record.encoding,
      level: record.level,
      limit: record.limit,
      notificationURI: record.notificationURI,
    };
  }

  /** Responses a client may read, newest first. */
  responsesFor(access: ClientAccess): ResponseRecord[] {
    if (access.system) return [...this.state.responses.values()].reverse();
    const out: ResponseRecord[] = [];
    for (const device of this.visibleDevices(access)) out.push(...(this.state.responsesByDevice.get(device.id) ?? []));
    return out.sort((a, b) => b.id - a.id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // GET resolution: route → resource
  // -------------------------------------------------------------------------------------------------------------

  /**
   * The resource a GET of `route` answers for this client, or a GridseamError (404 for anything the client
   * may not see: CSIP answers an unauthorised device with 404, and existence is not leaked).
   */
  resolve(route: Route, access: ClientAccess, paging: Paging, now: number): Rendered {
    switch (route.kind) {
      case 'dcap': {
        const value = {
          href: href.dcap(),
          pollRate: this.pollRate('DeviceCapability'),
          ResponseSetListLink: { href: href.rspsList(), all: 1 },
          TimeLink: { href: href.tm() },
          EndDeviceListLink: { href: href.edevList(), all: this.visibleDevices(access).length },
          MirrorUsagePointListLink: {
            href: href.mupList(),
            all: access.system ? this.state.mups.size : (this.state.mupsByOwner.get(access.lfdi)?.length ?? 0),
          },
        };
        return rendered('DeviceCapability', value);
      }
      case 'tm': {
        const zone = this.options.timeZone;
        const inDst = zone.dstOffset !== 0 && now >= zone.dstStartTime && now < zone.dstEndTime;
        return rendered(
          'Time',
          {
            href: href.tm(),
            currentTime: now,
            dstEndTime: zone.dstEndTime,
            dstOffset: zone.dstOffset,
            dstStartTime: zone.dstStartTime,
            localTime: now + zone.tzOffset + (inDst ? zone.dstOffset : 0),
            // 2030.5 Time.quality 4: level 3 source (the server's own synchronised clock).
            quality: 4,
            tzOffset: zone.tzOffset,
            pollRate: this.pollRate('Time'),
          },
          now + 1,
        );
      }
      case 'edevList': {
        let devices = this.visibleDevices(access);
        if (paging.a !== undefined) {
          const after = paging.a;
          devices = devices.filter((device) => device.changedTime >= after);
        }
        return rendered('EndDeviceList', {
          href: href.edevList(),
          subscribable: 1,
          all: devices.length,
          results: Math.max(0, Math.min(paging.l, devices.length - paging.s)),
          pollRate: this.pollRate('EndDeviceList'),
          EndDevice: slice(devices, paging).map((device) => this.endDevice(device)),
        });
      }
      case 'mupList': {
        let mups = access.system ? [...this.state.mups.values()] : (this.state.mupsByOwner.get(access.lfdi) ?? []);
        if (paging.a !== undefined) {
          const after = paging.a;
          mups = mups.filter((mup) => mup.changedTime >= after);
        }
        return rendered('MirrorUsagePointList', {
          href: href.mupList(),
          all: mups.length,
          results: Math.max(0, Math.min(paging.l, mups.length - paging.s)),
          pollRate: this.pollRate('MirrorUsagePointList'),
          MirrorUsagePoint: slice(mups, paging).map((mup) => this.mirrorUsagePoint(mup)),
        });
      }
      case 'mup': {
        const mup = this.state.mups.get(route.mupId);
        if (mup === undefined || !(access.system || mup.ownerLfdi === access.lfdi))
          throw notFoundError('no such MirrorUsagePoint');
        return rendered('MirrorUsagePoint', this.mirrorUsagePoint(mup));
      }
      case 'rspsList':
        return rendered('ResponseSetList', {
          href: href.rspsList(),
          all: 1,
          results: paging.s === 0 && paging.l > 0 ? 1 : 0,
          pollRate: this.pollRate('ResponseSetList'),
          ResponseSet: paging.s === 0 && paging.l > 0 ? [this.#responseSet(access)] : [],
        });
      case 'rsps':
        return rendered('ResponseSet', this.#responseSet(access));
      case 'rspList': {
        let responses = this.responsesFor(access);
        if (paging.a !== undefined) {
          const after = paging.a;
          responses = responses.filter((response) => response.receivedAt >= after);
        }
        return rendered('ResponseList', {
          href: href.rspList(route.setId),
          all: responses.length,
          results: Math.max(0, Math.min(paging.l, responses.length - paging.s)),
          Response: slice(responses, paging).map((response) => this.response(response)),
        });
      }
      case 'rsp': {
        const response = this.state.responses.get(route.responseId);
        if (response === undefined || !this.canAccess(access, this.state.endDevices.get(response.endDeviceId)))
          throw notFoundError('no such Response');
        return rendered('Response', this.response(response));
      }
      default:
        return this.#resolveDevice(route, access, paging, now);
    }
  }

  #responseSet(access: ClientAccess) {
    return {
      href: href.rsps(RESPONSE_SET_ID),
      mRID: derivedMrid('rsps:derc', this.options.mridPen),
      description: 'DERControl responses',
      ResponseListLink: { href: href.rspList(RESPONSE_SET_ID), all: this.responsesFor(access).length },
    };
  }

  /** The EndDevice a device route addresses, when this client may see it. */
  deviceFor(route: DeviceRoute, access: ClientAccess): EndDeviceRecord {
    const device = this.state.endDevices.get(route.deviceId);
    if (!this.canAccess(access, device)) throw notFoundError('no such EndDevice');
    return device;
  }

  #program(device: EndDeviceRecord, programId: string): ProgramRecord {
    const program = this.programFor(device, programId);
    if (program === undefined) throw notFoundError('no such DERProgram');
    return program;
  }

  #resolveDevice(route: DeviceRoute, access: ClientAccess, paging: Paging, now: number): Rendered {
    const device = this.deviceFor(route, access);
    const id = device.id;
    switch (route.kind) {
      case 'edev':
        return rendered('EndDevice', this.endDevice(device));
      case 'rg':
        return rendered('Registration', {
          href: href.rg(id),
          dateTimeRegistered: device.registeredAt,
          pIN: device.pin ?? this.options.registrationPin,
          pollRate: this.pollRate('Registration'),
        });
      case 'cp': {
        if (!this.options.csipaus || device.role !== 'device') throw notFoundError('no ConnectionPoint here');
        return rendered('ConnectionPoint', {
          href: href.cp(id),
          connectionPointId: device.connectionPoint?.connectionPointId ?? '',
        });
      }
      case 'fsaList': {
        const fsas = this.fsasFor(device);
        return rendered('FunctionSetAssignmentsList', {
          href: href.fsaList(id),
          subscribable: 1,
          all: fsas.length,
          results: Math.max(0, Math.min(paging.l, fsas.length - paging.s)),
          pollRate: this.pollRate('FunctionSetAssignmentsList'),
          FunctionSetAssignments: slice(fsas, paging).map((fsa) => this.fsa(device, fsa)),
        });
      }
      case 'fsa': {
        const fsa = this.fsasFor(device).find((item) => item.id === route.fsaId);
        if (fsa === undefined) throw notFoundError('no such FunctionSetAssignments');
        return rendered('FunctionSetAssignments', this.fsa(device, fsa));
      }
      case 'fsaDerpList':
      case 'derpList': {
        let programs = this.programsFor(device);
        let listHref = href.derpList(id);
        if (route.kind === 'fsaDerpList') {
          const fsaId = route.fsaId;
          if (!this.state.fsas.has(fsaId) || device.role !== 'device')
            throw notFoundError('no such FunctionSetAssignments');
          programs = programs.filter((program) => program.fsaId === fsaId);
          listHref = href.fsaDerpList(id, fsaId);
        }
        let until = FOREVER;
        const page = slice(programs, paging).map((program) => {
          const result = this.derProgram(device, program, now);
          until = Math.min(until, result.until);
          return result.value;
        });
        return rendered(
          'DERProgramList',
          {
            href: listHref,
            subscribable: 1,
            all: programs.length,
            results: page.length,
            pollRate: this.pollRate('DERProgramList'),
            DERProgram: page,
          },
          until,
        );
      }
      case 'derp': {
        const result = this.derProgram(device, this.#program(device, route.programId), now);
        return rendered('DERProgram', result.value, result.until);
      }
      case 'dercList':
      case 'actdercList': {
        const program = this.#program(device, route.programId);
        const listed = this.controlsFor(id, program.id, now);
        let items = listed.items;
        if (route.kind === 'actdercList')
          items = items.filter((control) => this.eventStatus(control, now).currentStatus === 1);
        if (paging.a !== undefined) {
          const after = paging.a;
          items = items.filter((control) => control.creationTime >= after);
        }
        return rendered(
          'DERControlList',
          {
            href: route.kind === 'dercList' ? href.dercList(id, program.id) : href.actdercList(id, program.id),
            subscribable: 1,
            all: items.length,
            results: Math.max(0, Math.min(paging.l, items.length - paging.s)),
            DERControl: slice(items, paging).map((control) => this.derControl(device, control, now)),
          },
          listed.until,
        );
      }
      case 'derc': {
        const program = this.#program(device, route.programId);
        const control = this.state.controls.get(route.mRID);
        if (control === undefined || control.programId !== program.id || !this.controlApplies(control, device))
          throw notFoundError('no such DERControl');
        // Still answered after it left the list: every href handed out answers GET.
        const until = this.isListed(control, now) ? this.#nextTransition(control, now) : FOREVER;
        return rendered('DERControl', this.derControl(device, control, now), until);
      }
      case 'dderc': {
        const program = this.#program(device, route.programId);
        const record = this.defaultControlFor(device, program);
        if (record === undefined) throw notFoundError('this DERProgram has no DefaultDERControl');
        return rendered('DefaultDERControl', this.defaultDerControl(device, program, record));
      }
      case 'curveList': {
        const program = this.#program(device, route.programId);
        const curves = this.state.curvesByProgram.get(program.id) ?? [];
        return rendered('DERCurveList', {
          href: href.curveList(id, program.id),
          all: curves.length,
          results: Math.max(0, Math.min(paging.l, curves.length - paging.s)),
          DERCurve: slice(curves, paging).map((curve) => this.curve(device, curve)),
        });
      }
      case 'curve': {
        const program = this.#program(device, route.programId);
        const curve = this.state.curves.get(`${program.id}/${route.curveId}`);
        if (curve === undefined) throw notFoundError('no such DERCurve');
        return rendered('DERCurve', this.curve(device, curve));
      }
      case 'derList': {
        const count = device.role === 'device' ? (device.derCount ?? 1) : 0;
        const ders = Array.from({ length: count }, (_, index) => this.#der(device, index + 1));
        return rendered('DERList', {
          href: href.derList(id),
          all: count,
          results: Math.max(0, Math.min(paging.l, count - paging.s)),
          pollRate: this.pollRate('DERList'),
          DER: slice(ders, paging),
        });
      }
      case 'der':
        this.#checkDer(device, route.derId);
        return rendered('DER', this.#der(device, route.derId));
      case 'derDoc': {
        this.#checkDer(device, route.derId);
        const report = this.state.derReports.get(`${id}/${route.derId}/${route.docKind}`);
        // Not yet reported by the client: there is nothing schema-valid to answer with.
        if (report === undefined) throw notFoundError(`no ${route.docKind} has been reported yet`);
        const value = { ...report.doc, href: href.derDoc(id, route.derId, route.docKind) };
        return { doc: { name: route.docKind, value } as Rendered['doc'], until: FOREVER };
      }
      case 'subList': {
        const subscriptions = this.state.subscriptionsByDevice.get(id) ?? [];
        return rendered('SubscriptionList', {
          href: href.subList(id),
          all: subscriptions.length,
          results: Math.max(0, Math.min(paging.l, subscriptions.length - paging.s)),
          Subscription: slice(subscriptions, paging).map((record) => this.subscription(record)),
        });
      }
      case 'sub': {
        const record = this.state.subscriptions.get(route.subId);
        if (record === undefined || record.endDeviceId !== id) throw notFoundError('no such Subscription');
        return rendered('Subscription', this.subscription(record));
      }
      case 'lelList': {
        let events = [...(this.state.logEventsByDevice.get(id) ?? [])].sort(compareLogEvents);
        if (paging.a !== undefined) {
          const after = paging.a;
          events = events.filter((event) => event.doc.createdDateTime >= after);
        }
        return rendered('LogEventList', {
          href: href.lelList(id),
          all: events.length,
          results: Math.max(0, Math.min(paging.l, events.length - paging.s)),
          LogEvent: slice(events, paging).map((event) => ({ ...event.doc, href: href.lel(id, event.id) })),
        });
      }
      case 'lel': {
        const event = this.state.logEvents.get(route.logEventId);
        if (event === undefined || event.endDeviceId !== id) throw notFoundError('no such LogEvent');
        return rendered('LogEvent', { ...event.doc, href: href.lel(id, event.id) });
      }
    }
  }

  #checkDer(device: EndDeviceRecord, derId: number): void {
    const count = device.role === 'device' ? (device.derCount ?? 1) : 0;
    if (derId > count) throw notFoundError('no such DER');
  }

  #der(device: EndDeviceRecord, derId: number) {
    return {
      href: href.der(device.id, derId),
      AssociatedDERProgramListLink: { href: href.derpList(device.id), all: this.programsFor(device).length },
      DERAvailabilityLink: { href: href.derDoc(device.id, derId, 'DERAvailability') },
      DERCapabilityLink: { href: href.derDoc(device.id, derId, 'DERCapability') },
      DERSettingsLink: { href: href.derDoc(device.id, derId, 'DERSettings') },
      DERStatusLink: { href: href.derDoc(device.id, derId, 'DERStatus') },
    };
  }
}

/** 2030.5 LogEvent list ordering: createdDateTime descending, then logEventID descending. */
function compareLogEvents(a: LogEventRecord, b: LogEventRecord): number {
  return b.doc.createdDateTime - a.doc.createdDateTime || b.doc.logEventID - a.doc.logEventID || b.id - a.id;
}

export function notFoundError(message: string): GridseamError {
  return new GridseamError('GW_ERR_NOT_FOUND', message);
}
