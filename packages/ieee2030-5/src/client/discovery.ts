/**
 * Discovery and polling of the resource tree (2030.5 §2.2 of our notes): dcap → Time → EndDeviceList (every page)
 * → own EndDevice(s) → Registration, ConnectionPoint (CSIP-AUS), DERList → DER, FSA list → FSA → DERProgramList →
 * DERProgram → DERControlList (every page), DefaultDERControl, DERCurveList.
 *
 * Polling: every fetched resource is cached with the pollRate in force for it: its own `pollRate` attribute or,
 * when it carries none, the one inherited from above ("this resource and all resources below", sep.xsd; default
 * 900 s), clamped to [minPollSeconds, maxPollSeconds]. A walk re-fetches only the resources whose time has come
 * and reuses the others, so each resource is polled at its own rate; `nextDueAt` says when the next one is due.
 * A resource that cannot be fetched keeps its last good value (its subtree stays as it was) and the failure is
 * reported, so one bad link never empties the schedule.
 */
import { GridseamError } from '@gridseam/model';
import { sfdiFromLfdi } from '../identity/lfdi.ts';
import { SCHEMA_DEFAULTS } from '../resources/enums.ts';
import type {
  ConnectionPoint,
  DER,
  DERControl,
  DERCurve,
  DERProgram,
  DefaultDERControl,
  DeviceCapability,
  EndDevice,
  FunctionSetAssignments,
  Registration,
  ResourceName,
  ResourceTypes,
  Time,
} from '../resources/types.ts';
import type { FetchedList, SepHttp } from './http.ts';

export type ClientMode = 'direct' | 'aggregator';

export interface DiscoveryOptions {
  /** Path (or absolute URL) of the DeviceCapability. */
  dcapHref: string;
  /** LFDI of our certificate (any case). */
  lfdi: string;
  /**
   * direct: the EndDevice whose lFDI is ours. aggregator: the EndDevices in `endDeviceLfdis`, or when absent every
   * listed EndDevice that has a FunctionSetAssignmentsListLink (the aggregator's own EndDevice has none, CSIP p.33).
   */
  mode: ClientMode;
  endDeviceLfdis?: readonly string[];
  /** Registration.pIN expected (direct mode: of our EndDevice; aggregator: of each). Absent: not checked. */
  pin?: number;
  /** CSIP-AUS NMI PUT to each EndDevice's ConnectionPoint when it differs. */
  connectionPointId?: string;
  /**
   * Registration model (CSIP IG §6.1.3/6.1.4): 'out-of-band' (default) — the utility registers our
   * EndDevices; 'in-band' — an EndDevice the list lacks is POSTed to the EndDeviceList (our own in
   * direct mode, each of `endDeviceLfdis` in aggregator mode), then read back from the list.
   */
  registration?: 'out-of-band' | 'in-band';
  /** `l` when paging lists. Default 10. */
  pageSize?: number;
  /** Clamp of every pollRate, seconds. Defaults 5 and 86400. */
  minPollSeconds?: number;
  maxPollSeconds?: number;
}

export interface DiscoveredProgram {
  href: string;
  mRID: string;
  primacy: number;
  description?: string;
  controls: DERControl[];
  defaultControl?: DefaultDERControl;
  curves: DERCurve[];
}

export interface DiscoveredDer {
  href: string;
  der: DER;
}

export interface DiscoveredEndDevice {
  href: string;
  /** Lower case. */
  lfdi: string;
  sfdi: number;
  endDevice: EndDevice;
  registration?: Registration;
  programs: DiscoveredProgram[];
  ders: DiscoveredDer[];
  /** EndDevice.postRate, seconds, when the server gives one. */
  postRate?: number;
  /** Path of the EndDevice's SubscriptionList, when it links one. */
  subscriptionListHref?: string;
  /**
   * Paths of the resources under this EndDevice advertised as subscribable (≥ 1): the EndDevice, its FSA list,
   * DERProgramLists, DERControlLists and DefaultDERControls.
   */
  subscribable: string[];
}

export interface DiscoveryResult {
  dcap: DeviceCapability;
  time?: Time;
  /** Server time − local time, seconds (from the last Time read; 0 when the server has no Time). */
  clockOffset: number;
  endDevices: DiscoveredEndDevice[];
  mirrorUsagePointListHref?: string;
  /** Local epoch seconds at which the next cached resource falls due. */
  nextDueAt: number;
  /** What failed in this walk (the affected parts keep their previous values). */
  failures: GridseamError[];
  /** GETs made in this walk (requests, not resources: pages count). */
  requests: number;
}

interface CacheEntry {
  value: unknown;
  fetchedAt: number;
  pollRate: number;
  /** Time only: the offset measured when it was read. */
  offset?: number;
}

/** sep.xsd `subscribable`: 1 and 2 both accept a Subscription without conditions. */
function isSubscribable(resource: unknown): boolean {
  if (typeof resource !== 'object' || resource === null) return false;
  const value = (resource as { subscribable?: unknown }).subscribable;
  return typeof value === 'number' && value >= 1;
}

function hrefOf(link: unknown): string | undefined {
  if (typeof link !== 'object' || link === null) return undefined;
  const href = (link as { href?: unknown }).href;
  return typeof href === 'string' && href !== '' ? href : undefined;
}

function asError(error: unknown): GridseamError {
  if (error instanceof GridseamError) return error;
  return new GridseamError('GW_ERR_INTERNAL', error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

/** Polls the tree; keep one per client (it holds the cache). */
export class ResourcePoller {
  readonly #http: SepHttp;
  readonly #options: Required<Pick<DiscoveryOptions, 'pageSize' | 'minPollSeconds' | 'maxPollSeconds'>> &
    DiscoveryOptions;
  readonly #cache = new Map<string, CacheEntry>();
  /** EndDevice hrefs whose ConnectionPoint already holds our NMI. */
  readonly #connectionPointsDone = new Set<string>();
  #touched = new Set<string>();
  /** LFDI -> when in-band registration was last tried (epoch s). */
  readonly #registrationTried = new Map<string, number>();
  #failures: GridseamError[] = [];
  #requests = 0;
  #now = 0;
  #clockOffset = 0;
  /** Path of the MirrorUsagePointList from the last walk. */
  mirrorUsagePointListHref: string | undefined;

  constructor(http: SepHttp, options: DiscoveryOptions) {
    this.#http = http;
    this.#options = { pageSize: 10, minPollSeconds: 5, maxPollSeconds: 86_400, ...options };
    if (!Number.isInteger(this.#options.pageSize) || this.#options.pageSize < 1 || this.#options.pageSize > 255) {
      throw new GridseamError('GW_ERR_CONFIG', 'pageSize must be a whole number from 1 to 255');
    }
  }

  /** Forgets every cached resource: the next walk fetches everything (e.g. after a notification). */
  invalidate(href?: string): void {
    if (href === undefined) this.#cache.clear();
    else this.#cache.delete(this.#http.pathOf(href));
  }

  #rate(own: unknown, inherited: number): number {
    const rate = typeof own === 'number' && Number.isFinite(own) && own > 0 ? own : inherited;
    return Math.min(this.#options.maxPollSeconds, Math.max(this.#options.minPollSeconds, rate));
  }

  async #cached<T>(href: string, pollRate: number, fetch: () => Promise<T>): Promise<T | undefined> {
    const key = this.#http.pathOf(href);
    this.#touched.add(key);
    const entry = this.#cache.get(key);
    if (entry !== undefined && this.#now < entry.fetchedAt + entry.pollRate) return entry.value as T;
    try {
      const value = await fetch();
      this.#cache.set(key, { value, fetchedAt: this.#now, pollRate });
      return value;
    } catch (error) {
      this.#failures.push(asError(error));
      if (entry !== undefined) {
        // Keep the last good value; try again after the minimum poll interval.
        entry.fetchedAt = this.#now;
        entry.pollRate = Math.min(entry.pollRate, this.#options.minPollSeconds);
        return entry.value as T;
      }
      return undefined;
    }
  }

  #one<N extends ResourceName>(href: string, name: N, pollRate: number): Promise<ResourceTypes[N] | undefined> {
    return this.#cached(href, pollRate, () => {
      this.#requests++;
      return this.#http.get(href, name);
    });
  }

  #list(
    href: string,
    name: Parameters<SepHttp['getList']>[1],
    pollRate: number,
  ): Promise<FetchedList<Record<string, unknown>> | undefined> {
    return this.#cached(href, pollRate, async () => {
      const list = await this.#http.getList(href, name, this.#options.pageSize);
      this.#requests += list.pages;
      return list;
    });
  }

  /** One walk at local time `now` (epoch seconds). Throws only when the DeviceCapability cannot be read at all. */
  async walk(now: number): Promise<DiscoveryResult> {
    this.#now = now;
    this.#touched = new Set();
    this.#failures = [];
    this.#requests = 0;
    const defaultRate = SCHEMA_DEFAULTS.pollRate;
    const dcapHref = this.#options.dcapHref;
    const dcap = await this.#one(dcapHref, 'DeviceCapability', this.#rate(undefined, defaultRate));
    if (dcap === undefined) throw this.#failures[0] ?? new GridseamError('GW_ERR_INTERNAL', 'no DeviceCapability');
    // The dcap's own pollRate applies to the dcap and, inherited, to everything below it.
    const dcapRate = this.#rate(dcap.pollRate, defaultRate);
    const dcapEntry = this.#cache.get(this.#http.pathOf(dcapHref));
    if (dcapEntry !== undefined) dcapEntry.pollRate = dcapRate;

    const result: DiscoveryResult = {
      dcap,
      clockOffset: this.#clockOffset,
      endDevices: [],
      nextDueAt: now + dcapRate,
      failures: this.#failures,
      requests: 0,
    };
    const timeHref = hrefOf(dcap.TimeLink);
    if (timeHref !== undefined) {
      const time = await this.#cached(timeHref, dcapRate, async () => {
        this.#requests++;
        const value = await this.#http.get(timeHref, 'Time');
        return value;
      });
      if (time !== undefined) {
        const entry = this.#cache.get(this.#http.pathOf(timeHref));
        if (entry !== undefined) {
          entry.pollRate = this.#rate(time.pollRate, dcapRate);
          if (entry.fetchedAt === now && entry.offset === undefined) entry.offset = time.currentTime - now;
          this.#clockOffset = entry.offset ?? this.#clockOffset;
        }
        result.time = time;
        result.clockOffset = this.#clockOffset;
      }
    }
    const mupHref = hrefOf(dcap.MirrorUsagePointListLink);
    if (mupHref !== undefined) {
      result.mirrorUsagePointListHref = this.#http.pathOf(mupHref);
      this.mirrorUsagePointListHref = result.mirrorUsagePointListHref;
    }

    const edevListHref = hrefOf(dcap.EndDeviceListLink);
    if (edevListHref !== undefined) {
      let list = await this.#list(edevListHref, 'EndDeviceList', dcapRate);
      if (
        list !== undefined &&
        (await this.#registerMissing(edevListHref, list.items as unknown as EndDevice[], dcapRate))
      ) {
        this.invalidate(edevListHref);
        list = await this.#list(edevListHref, 'EndDeviceList', dcapRate);
      }
      if (list !== undefined) {
        const listRate = this.#rate(list.first.pollRate, dcapRate);
        this.#setRate(edevListHref, listRate);
        for (const listed of this.#select(list.items as unknown as EndDevice[])) {
          const device = await this.#endDevice(listed, listRate);
          if (device !== undefined) result.endDevices.push(device);
        }
      }
    }
    if (result.endDevices.length === 0 && edevListHref !== undefined && this.#failures.length === 0) {
      this.#failures.push(
        new GridseamError('GW_ERR_NOT_FOUND', 'the server lists no EndDevice for this client', {
          details: { peer: 'utility', lfdi: this.#options.lfdi.toLowerCase() },
        }),
      );
    }
    // Forget what is no longer linked; compute when the next resource is due.
    for (const key of [...this.#cache.keys()]) if (!this.#touched.has(key)) this.#cache.delete(key);
    let nextDueAt = Number.POSITIVE_INFINITY;
    for (const entry of this.#cache.values()) nextDueAt = Math.min(nextDueAt, entry.fetchedAt + entry.pollRate);
    result.nextDueAt = Number.isFinite(nextDueAt) ? Math.max(now + 1, nextDueAt) : now + dcapRate;
    result.requests = this.#requests;
    return result;
  }

  /**
   * In-band registration: POSTs an EndDevice (sFDI, lFDI, changedTime; IEEE 2030.5 §6.11.3 and CSIP
   * IG §6.1.4) for every LFDI we stand for that the list lacks. A refusal (403 in the out-of-band
   * model) is reported as a failure and tried again after the DeviceCapability's pollRate.
   * Returns whether anything was registered.
   */
  async #registerMissing(listHref: string, listed: EndDevice[], retryAfter: number): Promise<boolean> {
    if (this.#options.registration !== 'in-band') return false;
    const present = new Set(listed.map((device) => (device.lFDI ?? '').toLowerCase()));
    const ours = this.#options.mode === 'direct' ? [this.#options.lfdi] : [...(this.#options.endDeviceLfdis ?? [])];
    let registered = false;
    for (const lfdi of ours.map((value) => value.toLowerCase())) {
      if (present.has(lfdi)) continue;
      const triedAt = this.#registrationTried.get(lfdi);
      if (triedAt !== undefined && this.#now < triedAt + retryAfter) continue;
      this.#registrationTried.set(lfdi, this.#now);
      try {
        this.#requests++;
        await this.#http.post(listHref, 'EndDevice', { lFDI: lfdi, sFDI: sfdiFromLfdi(lfdi), changedTime: this.#now });
        registered = true;
      } catch (error) {
        this.#failures.push(asError(error));
      }
    }
    return registered;
  }

  #setRate(href: string, pollRate: number): void {
    const entry = this.#cache.get(this.#http.pathOf(href));
    if (entry !== undefined) entry.pollRate = pollRate;
  }

  #select(listed: EndDevice[]): EndDevice[] {
    const own = this.#options.lfdi.toLowerCase();
    const lfdiOf = (device: EndDevice) => (device.lFDI ?? '').toLowerCase();
    if (this.#options.mode === 'direct') return listed.filter((device) => lfdiOf(device) === own);
    const wanted = this.#options.endDeviceLfdis?.map((lfdi) => lfdi.toLowerCase());
    if (wanted !== undefined) return listed.filter((device) => wanted.includes(lfdiOf(device)));
    return listed.filter((device) => hrefOf(device.FunctionSetAssignmentsListLink) !== undefined);
  }

  async #endDevice(listed: EndDevice, inherited: number): Promise<DiscoveredEndDevice | undefined> {
    const href = listed.href;
    if (href === undefined) return undefined;
    const endDevice = (await this.#one(href, 'EndDevice', inherited)) ?? listed;
    const lfdi = (endDevice.lFDI ?? listed.lFDI ?? '').toLowerCase();
    const view: DiscoveredEndDevice = {
      href: this.#http.pathOf(href),
      lfdi,
      sfdi: endDevice.sFDI,
      endDevice,
      programs: [],
      ders: [],
      subscribable: [],
    };
    if (endDevice.postRate !== undefined) view.postRate = endDevice.postRate;
    const subscriptionListHref = hrefOf(endDevice.SubscriptionListLink);
    if (subscriptionListHref !== undefined) view.subscriptionListHref = this.#http.pathOf(subscriptionListHref);
    if (isSubscribable(endDevice)) view.subscribable.push(view.href);

    const regHref = hrefOf(endDevice.RegistrationLink);
    if (regHref !== undefined) {
      const registration = await this.#one(regHref, 'Registration', inherited);
      if (registration !== undefined) {
        this.#setRate(regHref, this.#rate(registration.pollRate, inherited));
        view.registration = registration;
        const pin = this.#options.pin;
        if (pin !== undefined && registration.pIN !== pin) {
          // 2030.5 registration: a PIN that does not match means this is not our registration; use nothing of it.
          this.#failures.push(
            new GridseamError(
              'GW_ERR_FORBIDDEN',
              `Registration PIN of ${view.href} does not match the configured PIN`,
              {
                details: { peer: 'utility', endDevice: view.href },
              },
            ),
          );
          return undefined;
        }
      }
    }

    await this.#connectionPoint(endDevice, view.href);

    const derListHref = hrefOf(endDevice.DERListLink);
    if (derListHref !== undefined) {
      const ders = await this.#list(derListHref, 'DERList', inherited);
      if (ders !== undefined) {
        const rate = this.#rate(ders.first.pollRate, inherited);
        this.#setRate(derListHref, rate);
        for (const der of ders.items as unknown as DER[]) {
          if (der.href === undefined) continue;
          view.ders.push({ href: this.#http.pathOf(der.href), der });
        }
      }
    }

    const fsaListHref = hrefOf(endDevice.FunctionSetAssignmentsListLink);
    if (fsaListHref !== undefined) {
      const fsas = await this.#list(fsaListHref, 'FunctionSetAssignmentsList', inherited);
      if (fsas !== undefined) {
        const fsaRate = this.#rate(fsas.first.pollRate, inherited);
        this.#setRate(fsaListHref, fsaRate);
        if (isSubscribable(fsas.first)) view.subscribable.push(this.#http.pathOf(fsaListHref));
        const seenPrograms = new Set<string>();
        for (const fsa of fsas.items as unknown as FunctionSetAssignments[]) {
          const programListHref = hrefOf(fsa.DERProgramListLink);
          if (programListHref === undefined) continue;
          const programs = await this.#list(programListHref, 'DERProgramList', fsaRate);
          if (programs === undefined) continue;
          const programRate = this.#rate(programs.first.pollRate, fsaRate);
          this.#setRate(programListHref, programRate);
          if (isSubscribable(programs.first)) view.subscribable.push(this.#http.pathOf(programListHref));
          for (const program of programs.items as unknown as DERProgram[]) {
            const programHref = program.href === undefined ? undefined : this.#http.pathOf(program.href);
            const key = programHref ?? program.mRID;
            if (seenPrograms.has(key)) continue;
            seenPrograms.add(key);
            view.programs.push(
              await this.#program(program, programHref ?? `mrid:${program.mRID}`, programRate, view.subscribable),
            );
          }
        }
      }
    }
    return view;
  }

  async #connectionPoint(endDevice: EndDevice, endDeviceHref: string): Promise<void> {
    const nmi = this.#options.connectionPointId;
    const cpHref = hrefOf(endDevice.ConnectionPointLink);
    if (nmi === undefined || cpHref === undefined || this.#connectionPointsDone.has(endDeviceHref)) return;
    try {
      let current: ConnectionPoint | undefined;
      try {
        this.#requests++;
        current = await this.#http.get(cpHref, 'ConnectionPoint');
      } catch (error) {
        if (!(error instanceof GridseamError && error.code === 'GW_ERR_NOT_FOUND')) throw error;
      }
      if (current?.connectionPointId !== nmi)
        await this.#http.put(cpHref, 'ConnectionPoint', { connectionPointId: nmi });
      this.#connectionPointsDone.add(endDeviceHref);
    } catch (error) {
      this.#failures.push(asError(error));
    }
  }

  async #program(
    program: DERProgram,
    href: string,
    inherited: number,
    subscribable: string[],
  ): Promise<DiscoveredProgram> {
    const view: DiscoveredProgram = { href, mRID: program.mRID, primacy: program.primacy, controls: [], curves: [] };
    if (program.description !== undefined) view.description = program.description;
    const controlsHref = hrefOf(program.DERControlListLink);
    if (controlsHref !== undefined) {
      const controls = await this.#list(controlsHref, 'DERControlList', inherited);
      if (controls !== undefined) {
        view.controls = controls.items as unknown as DERControl[];
        if (isSubscribable(controls.first)) subscribable.push(this.#http.pathOf(controlsHref));
      }
    }
    const defaultHref = hrefOf(program.DefaultDERControlLink);
    if (defaultHref !== undefined) {
      const fallback = await this.#cached(defaultHref, inherited, async () => {
        this.#requests++;
        try {
          return await this.#http.get(defaultHref, 'DefaultDERControl');
        } catch (error) {
          // A program without a default may answer 404 on its link: that means "none", not a failure.
          if (error instanceof GridseamError && error.code === 'GW_ERR_NOT_FOUND') return null;
          throw error;
        }
      });
      if (fallback !== undefined && fallback !== null) {
        view.defaultControl = fallback;
        if (isSubscribable(fallback)) subscribable.push(this.#http.pathOf(defaultHref));
      }
    }
    const curvesHref = hrefOf(program.DERCurveListLink);
    if (curvesHref !== undefined) {
      const curves = await this.#list(curvesHref, 'DERCurveList', inherited);
      if (curves !== undefined) view.curves = curves.items as unknown as DERCurve[];
    }
    return view;
  }
}
