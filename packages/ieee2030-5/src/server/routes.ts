/**
 * The server's URL space. Every href the server hands out is built here and parsed back here, so the two
 * cannot drift apart. All paths are lower-case (SAPN's validator fails any upper-case URL).
 */
import type { DerReportKind } from './contract.ts';

export const RESPONSE_SET_ID = 'derc';

export const DER_DOC_SEGMENTS: Readonly<Record<string, DerReportKind>> = {
  dercap: 'DERCapability',
  derg: 'DERSettings',
  ders: 'DERStatus',
  dera: 'DERAvailability',
};

export type Route =
  | { kind: 'dcap' }
  | { kind: 'tm' }
  | { kind: 'edevList' }
  | { kind: 'mupList' }
  | { kind: 'mup'; mupId: number }
  | { kind: 'rspsList' }
  | { kind: 'rsps'; setId: string }
  | { kind: 'rspList'; setId: string }
  | { kind: 'rsp'; setId: string; responseId: number }
  | DeviceRoute;

/** Routes under /edev/{id}: access is decided by the EndDevice. */
export type DeviceRoute =
  | { kind: 'edev'; deviceId: number }
  | { kind: 'rg'; deviceId: number }
  | { kind: 'cp'; deviceId: number }
  | { kind: 'fsaList'; deviceId: number }
  | { kind: 'fsa'; deviceId: number; fsaId: string }
  | { kind: 'fsaDerpList'; deviceId: number; fsaId: string }
  | { kind: 'derpList'; deviceId: number }
  | { kind: 'derp'; deviceId: number; programId: string }
  | { kind: 'dercList'; deviceId: number; programId: string }
  | { kind: 'derc'; deviceId: number; programId: string; mRID: string }
  | { kind: 'actdercList'; deviceId: number; programId: string }
  | { kind: 'dderc'; deviceId: number; programId: string }
  | { kind: 'curveList'; deviceId: number; programId: string }
  | { kind: 'curve'; deviceId: number; programId: string; curveId: string }
  | { kind: 'derList'; deviceId: number }
  | { kind: 'der'; deviceId: number; derId: number }
  | { kind: 'derDoc'; deviceId: number; derId: number; docKind: DerReportKind }
  | { kind: 'subList'; deviceId: number }
  | { kind: 'sub'; deviceId: number; subId: number }
  | { kind: 'lelList'; deviceId: number }
  | { kind: 'lel'; deviceId: number; logEventId: number };

export function isDeviceRoute(route: Route): route is DeviceRoute {
  return 'deviceId' in route;
}

const ID = /^[1-9][0-9]{0,14}$/;

function numericId(segment: string | undefined): number | undefined {
  return segment !== undefined && ID.test(segment) ? Number(segment) : undefined;
}

/** Parses a path (already without the query, lower-cased); undefined when it is not one of ours. */
export function parsePath(path: string): Route | undefined {
  const parts = path.split('/');
  // parts[0] is '' for an absolute path; a trailing slash leaves an empty last part.
  if (parts[0] !== '' || parts.length < 2) return undefined;
  if (parts[parts.length - 1] === '' && parts.length > 2) parts.pop();
  const [, head, a, b, c, d, e, extra] = parts;
  if (extra !== undefined) return undefined;
  switch (head) {
    case 'dcap':
      return a === undefined ? { kind: 'dcap' } : undefined;
    case 'tm':
      return a === undefined ? { kind: 'tm' } : undefined;
    case 'mup': {
      if (a === undefined) return { kind: 'mupList' };
      const mupId = numericId(a);
      return mupId !== undefined && b === undefined ? { kind: 'mup', mupId } : undefined;
    }
    case 'rsps': {
      if (a === undefined) return { kind: 'rspsList' };
      if (a !== RESPONSE_SET_ID) return undefined;
      if (b === undefined) return { kind: 'rsps', setId: a };
      if (b !== 'rsp') return undefined;
      if (c === undefined) return { kind: 'rspList', setId: a };
      const responseId = numericId(c);
      return responseId !== undefined && d === undefined ? { kind: 'rsp', setId: a, responseId } : undefined;
    }
    case 'edev': {
      if (a === undefined) return { kind: 'edevList' };
      const deviceId = numericId(a);
      if (deviceId === undefined) return undefined;
      return parseDeviceRoute(deviceId, b, c, d, e);
    }
    default:
      return undefined;
  }
}

function parseDeviceRoute(
  deviceId: number,
  b: string | undefined,
  c: string | undefined,
  d: string | undefined,
  e: string | undefined,
): DeviceRoute | undefined {
  if (b === undefined) return { kind: 'edev', deviceId };
  const leaf = c === undefined;
  switch (b) {
    case 'rg':
      return leaf ? { kind: 'rg', deviceId } : undefined;
    case 'cp':
      return leaf ? { kind: 'cp', deviceId } : undefined;
    case 'fsa':
      if (c === undefined) return { kind: 'fsaList', deviceId };
      if (d === undefined) return { kind: 'fsa', deviceId, fsaId: c };
      return d === 'derp' && e === undefined ? { kind: 'fsaDerpList', deviceId, fsaId: c } : undefined;
    case 'derp': {
      if (c === undefined) return { kind: 'derpList', deviceId };
      const programId = c;
      if (d === undefined) return { kind: 'derp', deviceId, programId };
      if (d === 'derc') {
        return e === undefined
          ? { kind: 'dercList', deviceId, programId }
          : { kind: 'derc', deviceId, programId, mRID: e };
      }
      if (d === 'dc') {
        return e === undefined
          ? { kind: 'curveList', deviceId, programId }
          : { kind: 'curve', deviceId, programId, curveId: e };
      }
      if (e !== undefined) return undefined;
      if (d === 'actderc') return { kind: 'actdercList', deviceId, programId };
      if (d === 'dderc') return { kind: 'dderc', deviceId, programId };
      return undefined;
    }
    case 'der': {
      if (c === undefined) return { kind: 'derList', deviceId };
      const derId = numericId(c);
      if (derId === undefined) return undefined;
      if (d === undefined) return { kind: 'der', deviceId, derId };
      const docKind = DER_DOC_SEGMENTS[d];
      return docKind !== undefined && e === undefined ? { kind: 'derDoc', deviceId, derId, docKind } : undefined;
    }
    case 'sub': {
      if (c === undefined) return { kind: 'subList', deviceId };
      const subId = numericId(c);
      return subId !== undefined && d === undefined ? { kind: 'sub', deviceId, subId } : undefined;
    }
    case 'lel': {
      if (c === undefined) return { kind: 'lelList', deviceId };
      const logEventId = numericId(c);
      return logEventId !== undefined && d === undefined ? { kind: 'lel', deviceId, logEventId } : undefined;
    }
    default:
      return undefined;
  }
}

const DOC_SEGMENT_BY_KIND: Readonly<Record<DerReportKind, string>> = {
  DERCapability: 'dercap',
  DERSettings: 'derg',
  DERStatus: 'ders',
  DERAvailability: 'dera',
};

/** Href builders. */
export const href = {
  dcap: () => '/dcap',
  tm: () => '/tm',
  edevList: () => '/edev',
  edev: (deviceId: number) => `/edev/${deviceId}`,
  rg: (deviceId: number) => `/edev/${deviceId}/rg`,
  cp: (deviceId: number) => `/edev/${deviceId}/cp`,
  fsaList: (deviceId: number) => `/edev/${deviceId}/fsa`,
  fsa: (deviceId: number, fsaId: string) => `/edev/${deviceId}/fsa/${fsaId}`,
  fsaDerpList: (deviceId: number, fsaId: string) => `/edev/${deviceId}/fsa/${fsaId}/derp`,
  derpList: (deviceId: number) => `/edev/${deviceId}/derp`,
  derp: (deviceId: number, programId: string) => `/edev/${deviceId}/derp/${programId}`,
  dercList: (deviceId: number, programId: string) => `/edev/${deviceId}/derp/${programId}/derc`,
  derc: (deviceId: number, programId: string, mRID: string) => `/edev/${deviceId}/derp/${programId}/derc/${mRID}`,
  actdercList: (deviceId: number, programId: string) => `/edev/${deviceId}/derp/${programId}/actderc`,
  dderc: (deviceId: number, programId: string) => `/edev/${deviceId}/derp/${programId}/dderc`,
  curveList: (deviceId: number, programId: string) => `/edev/${deviceId}/derp/${programId}/dc`,
  curve: (deviceId: number, programId: string, curveId: string) => `/edev/${deviceId}/derp/${programId}/dc/${curveId}`,
  derList: (deviceId: number) => `/edev/${deviceId}/der`,
  der: (deviceId: number, derId: number) => `/edev/${deviceId}/der/${derId}`,
  derDoc: (deviceId: number, derId: number, kind: DerReportKind) =>
    `/edev/${deviceId}/der/${derId}/${DOC_SEGMENT_BY_KIND[kind]}`,
  subList: (deviceId: number) => `/edev/${deviceId}/sub`,
  sub: (deviceId: number, subId: number) => `/edev/${deviceId}/sub/${subId}`,
  lelList: (deviceId: number) => `/edev/${deviceId}/lel`,
  lel: (deviceId: number, logEventId: number) => `/edev/${deviceId}/lel/${logEventId}`,
  mupList: () => '/mup',
  mup: (mupId: number) => `/mup/${mupId}`,
  rspsList: () => '/rsps',
  rsps: (setId: string) => `/rsps/${setId}`,
  rspList: (setId: string) => `/rsps/${setId}/rsp`,
  rsp: (setId: string, responseId: number) => `/rsps/${setId}/rsp/${responseId}`,
} as const;

export interface Paging {
  /** Start index. */
  s: number;
  /** Limit. */
  l: number;
  /** Only items at or after this epoch time; undefined = no filter. */
  a: number | undefined;
}

const DIGITS = /^[0-9]{1,10}$/;

/**
 * Parses the query of a list request (2030.5 §8.2.3 / envoy: s = start, default 0; l = limit, default
 * `defaultLimit`, capped at `maxLimit`; a = after, epoch seconds). Unknown parameters are ignored.
 * Returns a string describing the problem for malformed values.
 */
export function parsePaging(query: string, defaultLimit: number, maxLimit: number): Paging | string {
  let s = 0;
  let l = defaultLimit;
  let a: number | undefined;
  if (query === '') return { s, l, a };
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (name !== 's' && name !== 'l' && name !== 'a') continue;
    if (!DIGITS.test(value)) return `query parameter ${name} must be a whole number`;
    const number = Number(value);
    if (name === 's') s = number;
    else if (name === 'l') l = Math.min(number, maxLimit);
    else a = number;
  }
  return { s, l, a };
}
