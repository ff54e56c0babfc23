import { isAbsolute, resolve } from 'node:path';
import { Id } from '@gridseam/model';
import Type, { type Static } from 'typebox';
import { type ConfigIssue, keyPathOf } from './issues.ts';
import { Openadr2bSection, Openadr3Section } from './openadr.ts';

/**
 * The `utility` section: the utility protocols the gateway speaks as a client. Today one,
 * `utility.ieee2030_5`: the IEEE 2030.5 (CSIP / CSIP-AUS) client, wired to the fleet and the
 * control engine by src/seams/ieee2030-5.ts. Certificate, key and CA paths are relative to the
 * config file's folder.
 *
 * Modes (IEEE 2030.5 / CSIP): `direct` — the gateway's certificate is one EndDevice, standing for
 * one site (`siteId`); `aggregator` — the certificate is an aggregator's and the utility lists one
 * EndDevice per site, mapped here by LFDI (`endDevices`).
 */

export const DEFAULT_CLIENT_STATE_NAMESPACE = 'ieee2030-5-client';
export const DEFAULT_REPORT_INTERVAL_S = 60;
export const DEFAULT_FAILURE_RESPONSE = 252;
export const DEFAULT_FAILURE_GRACE_S = 120;

const FilePath = Type.String({ minLength: 1, maxLength: 4096 });
const Lfdi = Type.String({ pattern: '^[0-9a-fA-F]{40}$' });
const Seconds = (maximum: number) => Type.Integer({ minimum: 1, maximum });

export const Ieee2030_5EndDeviceConfig = Type.Object(
  {
    /** The EndDevice's LFDI as the utility registered it (40 hex). */
    lfdi: Lfdi,
    /** The gateway site it stands for (a site in fleet.sites). */
    siteId: Id,
  },
  { additionalProperties: false },
);
export type Ieee2030_5EndDeviceConfig = Static<typeof Ieee2030_5EndDeviceConfig>;

/**
 * Subscription/Notification (IEEE 2030.5 §10.9 Subscription/Notification Mechanism): the gateway
 * listens for Notifications the utility POSTs and subscribes to every resource the server lists as
 * subscribable; polling at pollRate stays the safety net.
 */
export const Ieee2030_5NotificationsConfig = Type.Object(
  {
    /** Listen address of the Notification receiver (port 0: any free port). */
    host: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s/]+$', default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
    /**
     * The notificationURI given to the server, e.g. https://gateway.example:8444/notify. Absent: built
     * from the bound address (https://host:port/notify), which suits loopback and flat networks.
     */
    publicUri: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 })),
    /** Plain HTTP behind a TLS terminator; default false: HTTPS with mutual TLS on the client's certificate. */
    plainHttp: Type.Boolean({ default: false }),
    /** Subscription.limit: list items per Notification. */
    limit: Type.Integer({ minimum: 1, maximum: 65535, default: 10 }),
    /** Largest Notification accepted, bytes. */
    maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 256 * 1024 }),
  },
  { additionalProperties: false },
);
export type Ieee2030_5NotificationsConfig = Static<typeof Ieee2030_5NotificationsConfig>;

export const Ieee2030_5Section = Type.Object(
  {
    /** Absolute https URL of the utility's DeviceCapability, e.g. https://utility.example:8443/dcap. */
    dcapUrl: Type.String({ pattern: '^https://[^\\s]+$', maxLength: 2048 }),
    /** PEM client certificate (its LFDI is the gateway's identity) and its private key. */
    certificate: FilePath,
    key: FilePath,
    /** PEM CA certificate(s) the utility's server certificate must chain to. */
    ca: Type.Union([FilePath, Type.Array(FilePath, { minItems: 1, maxItems: 16 })]),
    mode: Type.Enum(['direct', 'aggregator'], { default: 'direct' }),
    profile: Type.Enum(['csip', 'csip-aus'], { default: 'csip-aus' }),
    /** CSIP-AUS namespace version (profile csip-aus only). */
    csipausVersion: Type.Optional(Type.Enum(['1.2', '1.3'])),
    /** CSIP-AUS NMI, PUT to each EndDevice's ConnectionPoint (connectionPointId). */
    nmi: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,32}$' })),
    /** IANA Private Enterprise Number, written into mirror mRIDs. */
    pen: Type.Integer({ minimum: 0, maximum: 4294967295, default: 0 }),
    /**
     * Registration model (CSIP IG §6.1): out-of-band (default; the utility registers our EndDevices, e.g.
     * Energy Queensland) or in-band (POST an EndDevice the list lacks).
     */
    registration: Type.Enum(['out-of-band', 'in-band'], { default: 'out-of-band' }),
    /** Registration PIN to verify (with its check digit). */
    pin: Type.Optional(Type.Integer({ minimum: 0, maximum: 999999 })),
    /** direct mode: the site the gateway's EndDevice stands for. */
    siteId: Type.Optional(Id),
    /** aggregator mode: one EndDevice per site. */
    endDevices: Type.Optional(Type.Array(Ieee2030_5EndDeviceConfig, { minItems: 1, maxItems: 10000 })),
    /** Bounds applied to every pollRate the server gives, seconds. */
    minPollSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 5 }),
    maxPollSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 86400 }),
    /** After a failed poll, try again after this many seconds. */
    retrySeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 60 }),
    /** CSIP-AUS: after this long without a successful poll, active controls give way to the DefaultDERControl. */
    commsLossFallbackSeconds: Type.Optional(Seconds(7 * 86400)),
    /** Response statuses the utility accepts (SAPN: [1, 2, 3, 6, 7]); others are not posted. Default all. */
    responseStatuses: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 255 }), { minItems: 1, maxItems: 256, uniqueItems: true }),
    ),
    /** Mirror postRate when neither the EndDevice nor the server gives one, seconds. */
    postRateSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 300 }),
    /** How often the DER documents are recomputed; a changed one is PUT (unchanged ones are not). */
    reportIntervalSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: DEFAULT_REPORT_INTERVAL_S }),
    /**
     * Response status posted when the devices could not comply with a control (the control engine's
     * outcome 'failed' still holds after failureGraceSeconds); 0 posts none. Default 252.
     */
    failureResponse: Type.Integer({ minimum: 0, maximum: 255, default: DEFAULT_FAILURE_RESPONSE }),
    failureGraceSeconds: Type.Integer({ minimum: 0, maximum: 86400, default: DEFAULT_FAILURE_GRACE_S }),
    /** Receive Notifications for subscribable resources; absent: poll only. */
    notifications: Type.Optional(Ieee2030_5NotificationsConfig),
    /** Per request to the utility, ms. */
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120000, default: 15000 }),
    /** Where the client's state (sent Responses, randomisation, last schedule) is kept in the store. */
    stateNamespace: Type.String({ pattern: '^[A-Za-z0-9._-]{1,200}$', default: DEFAULT_CLIENT_STATE_NAMESPACE }),
  },
  { additionalProperties: false },
);
export type Ieee2030_5Section = Static<typeof Ieee2030_5Section>;

export const UtilitySection = Type.Object(
  {
    /** The IEEE 2030.5 client; absent: none. */
    ieee2030_5: Type.Optional(Ieee2030_5Section),
    /** The OpenADR 3 VEN (config/openadr.ts); absent: none. */
    openadr3: Type.Optional(Openadr3Section),
    /** The OpenADR 2.0b VEN (config/openadr.ts); absent: none. */
    openadr2b: Type.Optional(Openadr2bSection),
  },
  { additionalProperties: false },
);
export type UtilitySection = Static<typeof UtilitySection>;

function siteIdsOf(root: unknown): Set<string> {
  const sites = (root as { fleet?: { sites?: unknown } }).fleet?.sites;
  const ids = new Set<string>();
  if (Array.isArray(sites))
    for (const site of sites) {
      const id = (site as { id?: unknown } | null)?.id;
      if (typeof id === 'string') ids.add(id);
    }
  return ids;
}

/**
 * Rules across keys, checked after the schema: direct mode names one site (`siteId`), aggregator
 * mode maps EndDevices (`endDevices`), each site named is in fleet.sites, an LFDI or a site is
 * mapped once, csipausVersion only with csip-aus, and the poll bounds are in order.
 */
export function utilityIssues(root: unknown): ConfigIssue[] {
  const section = (root as { utility?: { ieee2030_5?: unknown } }).utility?.ieee2030_5;
  if (typeof section !== 'object' || section === null) return [];
  const s = section as Record<string, unknown>;
  const base = '/utility/ieee2030_5';
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string) =>
    issues.push({ path: `${base}${path}`, keyPath: keyPathOf(`${base}${path}`, root), message });
  const sites = siteIdsOf(root);
  const checkSite = (siteId: unknown, path: string) => {
    if (typeof siteId === 'string' && !sites.has(siteId))
      at(path, `must name a site in fleet.sites (no site '${siteId}')`);
  };
  if (s.mode === 'direct') {
    if (s.siteId === undefined) at('', 'needs siteId in mode direct (the site the gateway certificate stands for)');
    if (s.endDevices !== undefined) at('/endDevices', 'only applies to mode aggregator (use siteId in mode direct)');
    checkSite(s.siteId, '/siteId');
  } else if (s.mode === 'aggregator') {
    if (s.endDevices === undefined) at('', 'needs endDevices in mode aggregator (one EndDevice LFDI per site)');
    if (s.siteId !== undefined) at('/siteId', 'only applies to mode direct (map sites with endDevices)');
  }
  if (Array.isArray(s.endDevices)) {
    const lfdis = new Map<string, number>();
    const mapped = new Map<string, number>();
    s.endDevices.forEach((entry, index) => {
      const { lfdi, siteId } = (entry ?? {}) as Record<string, unknown>;
      checkSite(siteId, `/endDevices/${index}/siteId`);
      if (typeof lfdi === 'string') {
        const first = lfdis.get(lfdi.toLowerCase());
        if (first !== undefined) at(`/endDevices/${index}/lfdi`, `duplicates endDevices[${first}].lfdi`);
        else lfdis.set(lfdi.toLowerCase(), index);
      }
      if (typeof siteId === 'string') {
        const first = mapped.get(siteId);
        if (first !== undefined)
          at(`/endDevices/${index}/siteId`, `duplicates endDevices[${first}].siteId (one EndDevice per site)`);
        else mapped.set(siteId, index);
      }
    });
  }
  if (s.csipausVersion !== undefined && s.profile !== 'csip-aus')
    at('/csipausVersion', `only applies to profile csip-aus (profile is ${String(s.profile)})`);
  if (
    typeof s.minPollSeconds === 'number' &&
    typeof s.maxPollSeconds === 'number' &&
    s.minPollSeconds > s.maxPollSeconds
  )
    at('/minPollSeconds', `must not exceed maxPollSeconds (${s.maxPollSeconds})`);
  return issues;
}

function resolvedPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Certificate, key and CA paths resolved against the config file's folder. */
export function resolveUtilityPaths(section: UtilitySection | undefined, baseDir: string): UtilitySection | undefined {
  const client = section?.ieee2030_5;
  if (section === undefined || client === undefined) return section;
  return {
    ...section,
    ieee2030_5: {
      ...client,
      certificate: resolvedPath(client.certificate, baseDir),
      key: resolvedPath(client.key, baseDir),
      ca: Array.isArray(client.ca) ? client.ca.map((p) => resolvedPath(p, baseDir)) : resolvedPath(client.ca, baseDir),
    },
  };
}
