/**
 * A small IEEE 2030.5 test client, written from the standard (not from the server's code): node https over
 * mutual TLS 1.2 with ECDHE-ECDSA-AES128-CCM8 (sepClientTlsOptions), one keep-alive connection per client,
 * `application/sep+xml` bodies emitted and parsed with the package codec, hrefs followed as the server hands
 * them out, and list paging with `s`/`l` (2030.5 §8.2.3: a list answers a window; never assume one page).
 *
 * `walk()` does the CSIP discovery a DER client does: dcap → tm → edev list → EndDevice → Registration,
 * DER list → DER → its four sub-resource links; FSA list → FSA → DERProgram list → DERProgram → DERControl list
 * (every page), DefaultDERControl, DERCurve list; MirrorUsagePoint list; SubscriptionList.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { emitSep, parseSep } from '../../src/codec/index.ts';
import type {
  DER,
  DERControl,
  DERCurve,
  DERList,
  DERProgram,
  DefaultDERControl,
  DeviceCapability,
  EndDevice,
  FunctionSetAssignments,
  MirrorUsagePoint,
  Registration,
  ResourceName,
  ResourceTypes,
  Subscription,
  Time,
} from '../../src/resources/types.ts';
import { sepClientTlsOptions } from '../../src/tls.ts';

export const SEP_XML = 'application/sep+xml';

export interface SepClientOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** PEM key and certificate of this client, and the CA the server certificate must chain to. */
  key: string;
  cert: string;
  ca: string;
  /** Connections kept open (default 1: one 2030.5 client is one TLS session). */
  maxSockets?: number;
  /** Per request, ms (default 10000). */
  timeoutMs?: number;
}

/** What one request answered: the raw exchange plus the body parsed as a 2030.5 resource when it is one. */
export interface SepReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Root element name when the body parsed as a 2030.5 resource. */
  name?: ResourceName;
  resource?: unknown;
  /** Why the body did not parse (a non-empty body that is not a 2030.5 resource). */
  parseError?: string;
}

/** A fetched list with every page joined. */
export interface PagedList<T> {
  /** `all` of the last page fetched (the server's count of items in the whole list). */
  all: number;
  items: T[];
  /** Pages requested. */
  pages: number;
  /** The first page as parsed (carries pollRate, subscribable, href). */
  first: Record<string, unknown>;
}

export interface ProgramView {
  program: DERProgram;
  controls: DERControl[];
  controlListAll?: number;
  controlList?: Record<string, unknown>;
  defaultControl?: DefaultDERControl;
  curves: DERCurve[];
}

export interface FsaView {
  fsa: FunctionSetAssignments;
  programList?: Record<string, unknown>;
  programs: ProgramView[];
}

export interface DerView {
  der: DER;
}

export interface EndDeviceView {
  /** As listed in the EndDeviceList. */
  listed: EndDevice;
  /** As fetched from its own href. */
  endDevice: EndDevice;
  registration?: Registration;
  fsaList?: Record<string, unknown>;
  fsas: FsaView[];
  derList?: DERList;
  ders: DerView[];
  subscriptions: Subscription[];
}

export interface Discovery {
  dcap: DeviceCapability;
  time?: Time;
  /** The time on this machine when Time was read (epoch seconds). */
  timeReadAt?: number;
  endDeviceList?: Record<string, unknown>;
  endDevices: EndDeviceView[];
  mirrorUsagePointList?: Record<string, unknown>;
  mirrorUsagePoints: MirrorUsagePoint[];
  /** Every path GET during the walk, with its status. */
  visited: Map<string, number>;
}

export interface WalkOptions {
  /** `l` used when paging lists (default 2, small on purpose so that paging is exercised). */
  pageSize?: number;
}

export class SepHttpError extends Error {
  constructor(
    message: string,
    readonly reply: SepReply,
  ) {
    super(message);
    this.name = 'SepHttpError';
  }
}

/** The item element name of a 2030.5 list resource ('EndDeviceList' → 'EndDevice'). */
export function listItemName(listName: string): string {
  if (!listName.endsWith('List')) throw new Error(`${listName} is not a list resource`);
  return listName.slice(0, -'List'.length);
}

function withQuery(path: string, query: Record<string, number | undefined>): string {
  const url = new URL(path, 'https://sep.invalid');
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  return url.pathname + url.search;
}

function asRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value as Record<string, unknown>;
}

function hrefOf(link: unknown): string | undefined {
  if (typeof link !== 'object' || link === null) return undefined;
  const href = (link as { href?: unknown }).href;
  return typeof href === 'string' ? href : undefined;
}

export class SepClient {
  readonly host: string;
  readonly port: number;
  private readonly agent: Agent;
  private readonly timeoutMs: number;

  constructor(options: SepClientOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.agent = new Agent({
      ...sepClientTlsOptions({ key: options.key, cert: options.cert, ca: options.ca }),
      keepAlive: true,
      maxSockets: options.maxSockets ?? 1,
    });
  }

  /** One request; the body is sent with Content-Length. Never throws on an HTTP status. */
  raw(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<SepReply> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const req = request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            accept: SEP_XML,
            ...(payload ? { 'content-type': SEP_XML, 'content-length': String(payload.length) } : {}),
            ...headers,
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const reply: SepReply = { status: res.statusCode ?? 0, headers: res.headers, body: text };
            if (text.trim().length > 0) {
              try {
                const parsed = parseSep(text);
                reply.name = parsed.name;
                reply.resource = parsed.value;
              } catch (error) {
                reply.parseError = (error as Error).message;
              }
            }
            resolve(reply);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string): Promise<SepReply> {
    return this.raw('GET', path);
  }

  post<N extends ResourceName>(path: string, name: N, value: ResourceTypes[N]): Promise<SepReply> {
    return this.raw('POST', path, emitSep(name, value));
  }

  put<N extends ResourceName>(path: string, name: N, value: ResourceTypes[N]): Promise<SepReply> {
    return this.raw('PUT', path, emitSep(name, value));
  }

  delete(path: string): Promise<SepReply> {
    return this.raw('DELETE', path);
  }

  /** GET that must answer 200 with a resource of the given root element; returns the resource. */
  async fetch<N extends ResourceName>(path: string, name: N): Promise<ResourceTypes[N]> {
    const reply = await this.get(path);
    if (reply.status !== 200) throw new SepHttpError(`GET ${path} answered ${reply.status}: ${reply.body}`, reply);
    if (reply.name !== name) {
      throw new SepHttpError(`GET ${path} answered ${reply.name ?? reply.parseError ?? 'nothing'}, not ${name}`, reply);
    }
    return reply.resource as ResourceTypes[N];
  }

  /**
   * Pages through a list with `s` and `l` until `all` items were read or a page comes back empty. Checks
   * as it goes that `results` matches the items in the page and `all` stays the same across pages.
   */
  async fetchList<N extends ResourceName>(
    path: string,
    listName: N,
    pageSize = 2,
  ): Promise<PagedList<Record<string, unknown>>> {
    const itemName = listItemName(listName);
    const items: Record<string, unknown>[] = [];
    let first: Record<string, unknown> | undefined;
    let all = 0;
    let pages = 0;
    for (;;) {
      const page = asRecord(await this.fetch(withQuery(path, { s: items.length, l: pageSize }), listName));
      pages++;
      first ??= page;
      const pageItems = (page[itemName] ?? []) as Record<string, unknown>[];
      if (typeof page.all !== 'number' || typeof page.results !== 'number') {
        throw new Error(`${path}: list without all/results`);
      }
      if (page.results !== pageItems.length) {
        throw new Error(`${path}: results=${page.results} but ${pageItems.length} items in the page`);
      }
      if (pageItems.length > pageSize) throw new Error(`${path}: ${pageItems.length} items for l=${pageSize}`);
      if (pages > 1 && page.all !== all)
        throw new Error(`${path}: all changed from ${all} to ${page.all} while paging`);
      all = page.all;
      items.push(...pageItems);
      if (pageItems.length === 0 || items.length >= all) break;
      if (pages > 10_000) throw new Error(`${path}: more than 10,000 pages`);
    }
    return { all, items, pages, first: first ?? {} };
  }

  /** CSIP discovery from /dcap down (see the file comment). */
  async walk(options: WalkOptions = {}): Promise<Discovery> {
    const walker = new Walker(this, options.pageSize ?? 2);
    return walker.run();
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** One discovery run: fetches, follows links, and records every path it GETs with its status. */
class Walker {
  readonly visited = new Map<string, number>();

  constructor(
    private readonly client: SepClient,
    private readonly pageSize: number,
  ) {}

  private async fetch<N extends ResourceName>(path: string, name: N): Promise<ResourceTypes[N]> {
    try {
      const value = await this.client.fetch(path, name);
      this.visited.set(path, 200);
      return value;
    } catch (error) {
      if (error instanceof SepHttpError) this.visited.set(path, error.reply.status);
      throw error;
    }
  }

  private async list<N extends ResourceName>(path: string, name: N): Promise<PagedList<Record<string, unknown>>> {
    const result = await this.client.fetchList(path, name, this.pageSize);
    this.visited.set(path, 200);
    return result;
  }

  async run(): Promise<Discovery> {
    const dcap = await this.fetch('/dcap', 'DeviceCapability');
    const discovery: Discovery = { dcap, endDevices: [], mirrorUsagePoints: [], visited: this.visited };
    const timeHref = hrefOf(dcap.TimeLink);
    if (timeHref) {
      discovery.time = await this.fetch(timeHref, 'Time');
      discovery.timeReadAt = Math.floor(Date.now() / 1000);
    }
    const mupHref = hrefOf(dcap.MirrorUsagePointListLink);
    if (mupHref) {
      const mups = await this.list(mupHref, 'MirrorUsagePointList');
      discovery.mirrorUsagePointList = mups.first;
      discovery.mirrorUsagePoints = mups.items as unknown as MirrorUsagePoint[];
    }
    const edevHref = hrefOf(dcap.EndDeviceListLink);
    if (!edevHref) return discovery;
    const edevs = await this.list(edevHref, 'EndDeviceList');
    discovery.endDeviceList = edevs.first;
    for (const listed of edevs.items as unknown as EndDevice[]) {
      discovery.endDevices.push(await this.endDevice(listed));
    }
    return discovery;
  }

  private async endDevice(listed: EndDevice): Promise<EndDeviceView> {
    if (!listed.href) throw new Error('an EndDevice in the list has no href');
    const endDevice = await this.fetch(listed.href, 'EndDevice');
    const view: EndDeviceView = { listed, endDevice, fsas: [], ders: [], subscriptions: [] };
    const regHref = hrefOf(endDevice.RegistrationLink);
    if (regHref) view.registration = await this.fetch(regHref, 'Registration');
    const derListHref = hrefOf(endDevice.DERListLink);
    if (derListHref) {
      const ders = await this.list(derListHref, 'DERList');
      view.derList = ders.first as unknown as DERList;
      for (const der of ders.items as unknown as DER[]) {
        view.ders.push({ der: der.href ? await this.fetch(der.href, 'DER') : der });
      }
    }
    const subHref = hrefOf(endDevice.SubscriptionListLink);
    if (subHref) view.subscriptions = (await this.list(subHref, 'SubscriptionList')).items as unknown as Subscription[];
    const fsaHref = hrefOf(endDevice.FunctionSetAssignmentsListLink);
    if (fsaHref) {
      const fsas = await this.list(fsaHref, 'FunctionSetAssignmentsList');
      view.fsaList = fsas.first;
      for (const fsa of fsas.items as unknown as FunctionSetAssignments[]) view.fsas.push(await this.fsa(fsa));
    }
    return view;
  }

  private async fsa(listed: FunctionSetAssignments): Promise<FsaView> {
    const fsa = listed.href ? await this.fetch(listed.href, 'FunctionSetAssignments') : listed;
    const view: FsaView = { fsa, programs: [] };
    const derpHref = hrefOf(fsa.DERProgramListLink);
    if (!derpHref) return view;
    const programs = await this.list(derpHref, 'DERProgramList');
    view.programList = programs.first;
    for (const listedProgram of programs.items as unknown as DERProgram[]) {
      view.programs.push(await this.program(listedProgram));
    }
    return view;
  }

  private async program(listed: DERProgram): Promise<ProgramView> {
    const program = listed.href ? await this.fetch(listed.href, 'DERProgram') : listed;
    const view: ProgramView = { program, controls: [], curves: [] };
    const dercHref = hrefOf(program.DERControlListLink);
    if (dercHref) {
      const controls = await this.list(dercHref, 'DERControlList');
      view.controls = controls.items as unknown as DERControl[];
      view.controlListAll = controls.all;
      view.controlList = controls.first;
    }
    const ddercHref = hrefOf(program.DefaultDERControlLink);
    if (ddercHref) {
      // A program without a default control may answer 404 on its link; that is recorded, not thrown.
      const reply = await this.client.get(ddercHref);
      this.visited.set(ddercHref, reply.status);
      if (reply.status === 200 && reply.name === 'DefaultDERControl') {
        view.defaultControl = reply.resource as DefaultDERControl;
      }
    }
    const curveHref = hrefOf(program.DERCurveListLink);
    if (curveHref) view.curves = (await this.list(curveHref, 'DERCurveList')).items as unknown as DERCurve[];
    return view;
  }
}

/** Every control of every program of every FSA of every EndDevice in a discovery. */
export function allControls(discovery: Discovery): Array<{ control: DERControl; program: DERProgram }> {
  const out: Array<{ control: DERControl; program: DERProgram }> = [];
  for (const edev of discovery.endDevices)
    for (const fsa of edev.fsas)
      for (const pv of fsa.programs) for (const control of pv.controls) out.push({ control, program: pv.program });
  return out;
}

/** Every DefaultDERControl in a discovery, with its program. */
export function allDefaultControls(discovery: Discovery): Array<{ control: DefaultDERControl; program: DERProgram }> {
  const out: Array<{ control: DefaultDERControl; program: DERProgram }> = [];
  for (const edev of discovery.endDevices)
    for (const fsa of edev.fsas)
      for (const pv of fsa.programs)
        if (pv.defaultControl) out.push({ control: pv.defaultControl, program: pv.program });
  return out;
}
