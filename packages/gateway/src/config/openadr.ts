import { isAbsolute, resolve } from 'node:path';
import { Id, SetpointKind } from '@gridseam/model';
import Type, { type Static } from 'typebox';
import { type ConfigIssue, keyPathOf } from './issues.ts';

/**
 * The OpenADR sections of `utility`: the gateway as an OpenADR VEN. Each block below is one section;
 * src/seams/ wires each to the fleet and the control engine.
 */

// =====================================================================================================
// utility.openadr3: the OpenADR 3 VEN (3.0.1 or 3.1.0), wired by src/seams/openadr3.ts
// =====================================================================================================

export const DEFAULT_OADR3_POLL_S = 30;
export const DEFAULT_OADR3_MAX_BACKOFF_S = 300;
export const DEFAULT_OADR3_REPORT_INTERVAL_S = 60;
export const DEFAULT_OADR3_SAMPLE_S = 10;

const EnvName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' });
const Oadr3FilePath = Type.String({ minLength: 1, maxLength: 4096 });
const IdList = Type.Array(Id, { maxItems: 10000, uniqueItems: true });
const Name = Type.String({ minLength: 1, maxLength: 128 });

/** Controls one SIMPLE level sets: an absolute value in the kind's unit, or a fraction of referenceW. */
export const Openadr3SimpleControl = Type.Union([
  Type.Object(
    {
      kind: SetpointKind,
      value: Type.Number(),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Enum(['importLimit', 'exportLimit', 'loadLimit', 'generationLimit', 'chargeLimit', 'dischargeLimit']),
      fraction: Type.Number({ minimum: 0, maximum: 1 }),
    },
    { additionalProperties: false },
  ),
]);

const SimpleLevels = Type.Array(Openadr3SimpleControl, { maxItems: 16 });

export const Openadr3ProgramConfig = Type.Object(
  {
    /** Lower wins over other programs' events (IEEE 2030.5 primacy); an event's priority adds to it. */
    primacy: Type.Integer({ minimum: 0, maximum: 255 }),
    /** The canonical program kind; default from the program's payload descriptors. */
    kind: Type.Optional(
      Type.Enum(['demand-response', 'dynamic-export', 'grid-support', 'wholesale-market', 'capacity', 'manual']),
    ),
    /** Enrolled sites and devices (the events without targets apply to them). */
    siteIds: Type.Optional(IdList),
    deviceIds: Type.Optional(IdList),
    /** Groups the events without targets also apply to. */
    groupIds: Type.Optional(IdList),
    /**
     * SIMPLE levels (Definition: 0 normal, 1 moderate, 2 high, 3 emergency shed). Default: site
     * import limited to 75 / 50 / 25 % of referenceW; without referenceW only the level is recorded.
     */
    simple: Type.Optional(
      Type.Object(
        {
          referenceW: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          levels: Type.Optional(
            Type.Object(
              { '1': Type.Optional(SimpleLevels), '2': Type.Optional(SimpleLevels), '3': Type.Optional(SimpleLevels) },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Openadr3ProgramConfig = Static<typeof Openadr3ProgramConfig>;

/** An OpenADR target (3.1.0 string; 3.0.1 valuesMap value, optionally of one type) and what it stands for. */
export const Openadr3TargetConfig = Type.Object(
  {
    target: Name,
    /** 3.0.1: match only valuesMaps of this type (GROUP, RESOURCE_NAME, ...). */
    type: Type.Optional(Name),
    siteIds: Type.Optional(IdList),
    deviceIds: Type.Optional(IdList),
    groupIds: Type.Optional(IdList),
  },
  { additionalProperties: false },
);
export type Openadr3TargetConfig = Static<typeof Openadr3TargetConfig>;

/** A resource the VEN registers and reports on: a whole site (its meter, else its DERs summed) or one device. */
export const Openadr3ResourceConfig = Type.Object(
  {
    resourceName: Name,
    siteId: Type.Optional(Id),
    deviceId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type Openadr3ResourceConfig = Static<typeof Openadr3ResourceConfig>;

/** The webhook receiver (OpenADR 3 Definition §Subscriptions); polling stays the safety net. */
export const Openadr3CallbackConfig = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\s/]+$', default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 0 }),
    /** The base URL the VTN calls (a TLS terminator's https URL); default http://host:port. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 })),
    maxBodyBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024 }),
  },
  { additionalProperties: false },
);
export type Openadr3CallbackConfig = Static<typeof Openadr3CallbackConfig>;

export const Openadr3Section = Type.Object(
  {
    /** The API's base URL, e.g. https://vtn.example/openadr3/3.1.0. */
    vtnUrl: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
    /** 3.1.0 is not backward compatible with 3.0.1 (changeLog): the VTN's version. */
    version: Type.Enum(['3.0.1', '3.1.0']),
    /** OAuth 2.0 client credentials; absent: the VTN is called without a token. */
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    /** The environment variable holding the client secret (read at start, never in the file). */
    clientSecretEnv: Type.Optional(EnvName),
    /** Token endpoint; default GET /auth/server (3.1.0), then {vtnUrl}/auth/token. */
    tokenUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 })),
    venName: Name,
    pollSeconds: Type.Number({ minimum: 0.05, maximum: 86400, default: DEFAULT_OADR3_POLL_S }),
    maxBackoffSeconds: Type.Number({ minimum: 0.05, maximum: 86400, default: DEFAULT_OADR3_MAX_BACKOFF_S }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120000, default: 15000 }),
    /** Verify the VTN's certificate (default; extra CAs: NODE_EXTRA_CA_CERTS). false only for labs. */
    tlsVerify: Type.Boolean({ default: true }),
    /** PEM CA certificate file(s) the VTN's certificate must chain to, instead of the system's (https only). */
    ca: Type.Optional(Type.Union([Oadr3FilePath, Type.Array(Oadr3FilePath, { minItems: 1, maxItems: 16 })])),
    /** Programs taken part in, by programName; events of other programs are ignored. */
    programs: Type.Record(Name, Openadr3ProgramConfig, { default: {} }),
    targets: Type.Array(Openadr3TargetConfig, { maxItems: 10000, default: [] }),
    /** Resources registered and reported on; default one per enrolled site, named after it. */
    resources: Type.Optional(Type.Array(Openadr3ResourceConfig, { minItems: 1, maxItems: 10000 })),
    /** Pace of ad hoc reports and of report-only events. */
    reportIntervalSeconds: Type.Number({ minimum: 0.05, maximum: 86400, default: DEFAULT_OADR3_REPORT_INTERVAL_S }),
    /** How often telemetry is sampled for reports. */
    sampleSeconds: Type.Number({ minimum: 0.05, maximum: 3600, default: DEFAULT_OADR3_SAMPLE_S }),
    callback: Type.Optional(Openadr3CallbackConfig),
  },
  { additionalProperties: false },
);
export type Openadr3Section = Static<typeof Openadr3Section>;

function idsOf(root: unknown, section: 'sites' | 'devices' | 'groups'): Set<string> | undefined {
  const items = (root as { fleet?: Record<string, unknown> }).fleet?.[section];
  if (!Array.isArray(items)) return section === 'sites' ? new Set() : undefined;
  const ids = new Set<string>();
  for (const item of items) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string') ids.add(id);
  }
  return ids;
}

/**
 * Rules across keys of utility.openadr3, checked after the schema: clientId and clientSecretEnv
 * together, sites named are in fleet.sites (devices and groups: when fleet lists them), a resource
 * is one site or one device and its name is unique, tlsVerify false only over https.
 */
export function openadr3Issues(root: unknown): ConfigIssue[] {
  const section = (root as { utility?: { openadr3?: unknown } }).utility?.openadr3;
  if (typeof section !== 'object' || section === null) return [];
  const s = section as Record<string, unknown>;
  const base = '/utility/openadr3';
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string) =>
    issues.push({ path: `${base}${path}`, keyPath: keyPathOf(`${base}${path}`, root), message });
  if ((s.clientId === undefined) !== (s.clientSecretEnv === undefined))
    at('', 'needs clientId and clientSecretEnv together (OAuth 2.0 client credentials), or neither');
  if (s.tlsVerify === false && typeof s.vtnUrl === 'string' && !s.vtnUrl.startsWith('https://'))
    at('/tlsVerify', 'only applies to an https vtnUrl');
  if (s.ca !== undefined && typeof s.vtnUrl === 'string' && !s.vtnUrl.startsWith('https://'))
    at('/ca', 'only applies to an https vtnUrl');
  const known = { sites: idsOf(root, 'sites'), devices: idsOf(root, 'devices'), groups: idsOf(root, 'groups') };
  const checkIds = (ids: unknown, kind: 'sites' | 'devices' | 'groups', path: string) => {
    const set = known[kind];
    if (!Array.isArray(ids) || set === undefined) return;
    ids.forEach((id, index) => {
      if (typeof id === 'string' && !set.has(id))
        at(`${path}/${index}`, `must name an item of fleet.${kind} (no ${kind.slice(0, -1)} '${id}')`);
    });
  };
  const checkScopes = (item: Record<string, unknown>, path: string) => {
    checkIds(item.siteIds, 'sites', `${path}/siteIds`);
    checkIds(item.deviceIds, 'devices', `${path}/deviceIds`);
    checkIds(item.groupIds, 'groups', `${path}/groupIds`);
  };
  if (typeof s.programs === 'object' && s.programs !== null)
    for (const [name, program] of Object.entries(s.programs as Record<string, unknown>))
      if (typeof program === 'object' && program !== null)
        checkScopes(
          program as Record<string, unknown>,
          `/programs/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`,
        );
  if (Array.isArray(s.targets))
    s.targets.forEach((target, index) => {
      if (typeof target === 'object' && target !== null)
        checkScopes(target as Record<string, unknown>, `/targets/${index}`);
    });
  if (Array.isArray(s.resources)) {
    const names = new Map<string, number>();
    s.resources.forEach((resource, index) => {
      const r = (resource ?? {}) as Record<string, unknown>;
      if ((r.siteId === undefined) === (r.deviceId === undefined))
        at(`/resources/${index}`, 'needs exactly one of siteId or deviceId');
      if (typeof r.siteId === 'string' && known.sites !== undefined && !known.sites.has(r.siteId))
        at(`/resources/${index}/siteId`, `must name a site in fleet.sites (no site '${r.siteId}')`);
      if (typeof r.resourceName === 'string') {
        const first = names.get(r.resourceName);
        if (first !== undefined) at(`/resources/${index}/resourceName`, `duplicates resources[${first}].resourceName`);
        else names.set(r.resourceName, index);
      }
    });
  }
  return issues;
}

/** The CA paths of utility.openadr3 resolved against the config file's folder. */
export function resolveOpenadr3Paths(
  section: Openadr3Section | undefined,
  baseDir: string,
): Openadr3Section | undefined {
  if (section?.ca === undefined) return section;
  const at = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  return { ...section, ca: Array.isArray(section.ca) ? section.ca.map(at) : at(section.ca) };
}

// =====================================================================================================
// utility.openadr2b: the OpenADR 2.0b VEN (simple HTTP pull), wired by src/seams/openadr2b.ts
// =====================================================================================================

export const DEFAULT_OADR2B_STATE_NAMESPACE = 'openadr2b-ven';
export const DEFAULT_OADR2B_REPORT_S = 60;
export const DEFAULT_OADR2B_OFFLINE_AFTER_S = 300;

const Oadr2bFilePath = Type.String({ minLength: 1, maxLength: 4096 });
const Oadr2bIdList = Type.Array(Id, { maxItems: 10000, uniqueItems: true });
const Oadr2bOptPolicy = Type.Enum(['always', 'never-when-offline', 'never']);

/** A setpoint a SIMPLE level stands for (value in the kind's unit, docs/MODEL.md). */
export const Openadr2bLevelControl = Type.Object(
  {
    kind: SetpointKind,
    value: Type.Number(),
  },
  { additionalProperties: false },
);
const Oadr2bLevelControls = Type.Array(Openadr2bLevelControl, { maxItems: 16 });

/** One program the VEN takes part in, found by the ei:eiMarketContext of its events. */
export const Openadr2bProgramConfig = Type.Object(
  {
    /** The program's market context (an URI), exactly as the VTN writes it in eiMarketContext. */
    marketContext: Type.String({ minLength: 1, maxLength: 2048 }),
    /** Canonical program id; default `oadr2b.` + the market context made id-safe. */
    id: Type.Optional(Id),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    kind: Type.Enum(['demand-response', 'dynamic-export', 'grid-support', 'wholesale-market', 'capacity', 'manual'], {
      default: 'demand-response',
    }),
    /** Lower wins over other programs' events (IEEE 2030.5 primacy); an event's ei:priority 1..8 ranks above it. */
    primacy: Type.Integer({ minimum: 0, maximum: 255 }),
    /** Enrolled sites and devices: the events without a mapped target apply to them. */
    siteIds: Type.Optional(Oadr2bIdList),
    deviceIds: Type.Optional(Oadr2bIdList),
    /** optIn policy of this program's events; default the section's `optIn`. */
    optIn: Type.Optional(Oadr2bOptPolicy),
    /** SIMPLE levels (0 normal, 1 moderate, 2 high, 3 special) -> setpoints, so a SIMPLE event acts on devices. */
    simpleLevels: Type.Optional(
      Type.Object(
        {
          '0': Type.Optional(Oadr2bLevelControls),
          '1': Type.Optional(Oadr2bLevelControls),
          '2': Type.Optional(Oadr2bLevelControls),
          '3': Type.Optional(Oadr2bLevelControls),
        },
        { additionalProperties: false },
      ),
    ),
    /** Controllable load, W: LOAD_CONTROL x-loadControlCapacity fractions become a loadLimit. */
    loadCapacityW: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    /** Apply events marked testEvent (default false: answered, recorded in the log, not applied). */
    applyTestEvents: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type Openadr2bProgramConfig = Static<typeof Openadr2bProgramConfig>;

/** An eiTarget ID (exactly one of resourceId, groupId, partyId) and the sites, devices or groups it stands for. */
export const Openadr2bTargetConfig = Type.Object(
  {
    resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    groupId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    partyId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    siteIds: Type.Optional(Oadr2bIdList),
    deviceIds: Type.Optional(Oadr2bIdList),
    groupIds: Type.Optional(Oadr2bIdList),
  },
  { additionalProperties: false },
);
export type Openadr2bTargetConfig = Static<typeof Openadr2bTargetConfig>;

/** XML signatures (2.0b Profile Specification §10.2; oadrXmlSignature at registration). */
export const Openadr2bSigningConfig = Type.Object(
  {
    /** Sign outgoing messages (with `certificate`/`key`, default the TLS ones; RSA keys only). */
    sign: Type.Boolean({ default: true }),
    certificate: Type.Optional(Oadr2bFilePath),
    key: Type.Optional(Oadr2bFilePath),
    /** Certificates a VTN's signature must be made with or issued by (one level); default `ca`. */
    trusted: Type.Optional(Type.Array(Oadr2bFilePath, { minItems: 1, maxItems: 16 })),
    /** Refuse answers without a signature. */
    requireSignatures: Type.Boolean({ default: false }),
    /** Refuse a ReplayProtect timestamp further than this from now, seconds. */
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  },
  { additionalProperties: false },
);
export type Openadr2bSigningConfig = Static<typeof Openadr2bSigningConfig>;

/** The VEN's telemetry reports: TELEMETRY_USAGE (site power) and TELEMETRY_STATUS per reported site. */
export const Openadr2bReportsConfig = Type.Object(
  {
    /** Sites reported (resourceID: the site's target resourceId when one maps to it alone, else the site id). */
    siteIds: Type.Optional(Oadr2bIdList),
    /** Shortest sampling period offered (oadrMinPeriod), seconds. */
    minPeriodSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: 10 }),
    /** Longest sampling period offered (oadrMaxPeriod), seconds. */
    maxPeriodSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: DEFAULT_OADR2B_REPORT_S }),
    /** Offer TELEMETRY_STATUS (online, manual override). */
    status: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Openadr2bReportsConfig = Static<typeof Openadr2bReportsConfig>;

export const Openadr2bSection = Type.Object(
  {
    /** The VTN's base URL (https://vtn.example:8443); /OpenADR2/Simple/2.0b/{service} is appended. */
    vtnUrl: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
    /** oadrVenName. */
    venName: Type.String({ minLength: 1, maxLength: 256 }),
    /** A venID the utility assigned out of band; default: the one the VTN assigns at registration. */
    venId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** PEM client certificate, key and the CA(s) of the VTN's certificate (required for https). */
    certificate: Type.Optional(Oadr2bFilePath),
    key: Type.Optional(Oadr2bFilePath),
    ca: Type.Optional(Type.Union([Oadr2bFilePath, Type.Array(Oadr2bFilePath, { minItems: 1, maxItems: 16 })])),
    /** 'openadr2b': TLS 1.2 with the 2.0b suites (default); 'node-default': Node's versions and suites. */
    tlsProfile: Type.Enum(['openadr2b', 'node-default'], { default: 'openadr2b' }),
    signing: Type.Optional(Openadr2bSigningConfig),
    /** Poll period, seconds; default the VTN's oadrRequestedOadrPollFreq. */
    pollSeconds: Type.Optional(Type.Number({ minimum: 0.05, maximum: 86400 })),
    /** After a failure, try again after this many seconds, doubling up to maxRetrySeconds. */
    retrySeconds: Type.Number({ minimum: 0.05, maximum: 86400, default: 5 }),
    maxRetrySeconds: Type.Number({ minimum: 0.05, maximum: 86400, default: 300 }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 120000, default: 15000 }),
    /**
     * optIn policy: 'always'; 'never-when-offline' (opt out when no device of the program's sites has sent
     * telemetry for offlineAfterSeconds); 'never'. Programs may override it.
     */
    optIn: Type.Enum(['always', 'never-when-offline', 'never'], { default: 'always' }),
    offlineAfterSeconds: Type.Integer({ minimum: 1, maximum: 86400, default: DEFAULT_OADR2B_OFFLINE_AFTER_S }),
    /** Programs taken part in; events of other market contexts are answered optOut and not applied. */
    programs: Type.Array(Openadr2bProgramConfig, { maxItems: 1000, default: [] }),
    targets: Type.Array(Openadr2bTargetConfig, { maxItems: 10000, default: [] }),
    reports: Type.Optional(Openadr2bReportsConfig),
    /** Answer again when the VTN distributes an unchanged modification again (as OpenLEADR's VEN does). */
    answerRepeats: Type.Boolean({ default: false }),
    /** Where the VEN's state (registration, answers sent, opts) is kept in the store. */
    stateNamespace: Type.String({ pattern: '^[A-Za-z0-9._-]{1,200}$', default: DEFAULT_OADR2B_STATE_NAMESPACE }),
  },
  { additionalProperties: false },
);
export type Openadr2bSection = Static<typeof Openadr2bSection>;

/**
 * Rules across keys of utility.openadr2b, checked after the schema: an https vtnUrl needs certificate, key and ca
 * (a plain http one takes none), signing needs a certificate and key (its own or the TLS ones), a market context
 * and a program id are used once, a target names exactly one ID, and the sites and devices named exist.
 */
export function openadr2bIssues(root: unknown): ConfigIssue[] {
  const section = (root as { utility?: { openadr2b?: unknown } }).utility?.openadr2b;
  if (typeof section !== 'object' || section === null) return [];
  const s = section as Record<string, unknown>;
  const base = '/utility/openadr2b';
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string) =>
    issues.push({ path: `${base}${path}`, keyPath: keyPathOf(`${base}${path}`, root), message });
  const https = typeof s.vtnUrl === 'string' && s.vtnUrl.startsWith('https://');
  if (https) {
    for (const key of ['certificate', 'key', 'ca'])
      if (s[key] === undefined) at('', `needs ${key} for an https vtnUrl (OpenADR 2.0b uses mutual TLS)`);
  } else if (typeof s.vtnUrl === 'string') {
    for (const key of ['certificate', 'key', 'ca'])
      if (s[key] !== undefined) at(`/${key}`, 'only applies to an https vtnUrl');
  }
  const signing = s.signing as Record<string, unknown> | undefined;
  if (signing !== undefined && signing.sign !== false) {
    if ((signing.certificate ?? s.certificate) === undefined || (signing.key ?? s.key) === undefined)
      at('/signing', 'needs certificate and key to sign (its own or the TLS ones)');
  }
  if (signing !== undefined && signing.trusted === undefined && s.ca === undefined)
    at('/signing', 'needs trusted certificates to verify signatures (or ca)');
  const known = { sites: idsOf(root, 'sites'), devices: idsOf(root, 'devices'), groups: idsOf(root, 'groups') };
  const checkIds = (ids: unknown, kind: 'sites' | 'devices' | 'groups', path: string) => {
    const set = known[kind];
    if (!Array.isArray(ids) || set === undefined) return;
    ids.forEach((id, index) => {
      if (typeof id === 'string' && !set.has(id))
        at(`${path}/${index}`, `must name an item of fleet.${kind} (no ${kind.slice(0, -1)} '${id}')`);
    });
  };
  if (Array.isArray(s.programs)) {
    const contexts = new Map<string, number>();
    const programIds = new Map<string, number>();
    s.programs.forEach((program, index) => {
      const p = (program ?? {}) as Record<string, unknown>;
      checkIds(p.siteIds, 'sites', `/programs/${index}/siteIds`);
      checkIds(p.deviceIds, 'devices', `/programs/${index}/deviceIds`);
      if (typeof p.marketContext === 'string') {
        const first = contexts.get(p.marketContext);
        if (first !== undefined) at(`/programs/${index}/marketContext`, `duplicates programs[${first}].marketContext`);
        else contexts.set(p.marketContext, index);
      }
      if (typeof p.id === 'string') {
        const first = programIds.get(p.id);
        if (first !== undefined) at(`/programs/${index}/id`, `duplicates programs[${first}].id`);
        else programIds.set(p.id, index);
      }
    });
  }
  if (Array.isArray(s.targets))
    s.targets.forEach((target, index) => {
      const t = (target ?? {}) as Record<string, unknown>;
      const named = ['resourceId', 'groupId', 'partyId'].filter((key) => t[key] !== undefined);
      if (named.length !== 1) at(`/targets/${index}`, 'needs exactly one of resourceId, groupId or partyId');
      if (t.siteIds === undefined && t.deviceIds === undefined && t.groupIds === undefined)
        at(`/targets/${index}`, 'needs siteIds, deviceIds or groupIds (what the ID stands for)');
      checkIds(t.siteIds, 'sites', `/targets/${index}/siteIds`);
      checkIds(t.deviceIds, 'devices', `/targets/${index}/deviceIds`);
      checkIds(t.groupIds, 'groups', `/targets/${index}/groupIds`);
    });
  const reports = s.reports as Record<string, unknown> | undefined;
  if (reports !== undefined) {
    checkIds(reports.siteIds, 'sites', '/reports/siteIds');
    if (
      typeof reports.minPeriodSeconds === 'number' &&
      typeof reports.maxPeriodSeconds === 'number' &&
      reports.minPeriodSeconds > reports.maxPeriodSeconds
    )
      at('/reports/minPeriodSeconds', `must not exceed maxPeriodSeconds (${reports.maxPeriodSeconds})`);
  }
  if (typeof s.retrySeconds === 'number' && typeof s.maxRetrySeconds === 'number' && s.retrySeconds > s.maxRetrySeconds)
    at('/retrySeconds', `must not exceed maxRetrySeconds (${s.maxRetrySeconds})`);
  return issues;
}

function resolvedOadr2bPath(path: string, baseDir: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** Certificate, key, CA and trusted-certificate paths resolved against the config file's folder. */
export function resolveOpenadr2bPaths(
  section: Openadr2bSection | undefined,
  baseDir: string,
): Openadr2bSection | undefined {
  if (section === undefined) return undefined;
  const at = (path: string) => resolvedOadr2bPath(path, baseDir);
  const signing = section.signing;
  return {
    ...section,
    ...(section.certificate === undefined ? {} : { certificate: at(section.certificate) }),
    ...(section.key === undefined ? {} : { key: at(section.key) }),
    ...(section.ca === undefined ? {} : { ca: Array.isArray(section.ca) ? section.ca.map(at) : at(section.ca) }),
    ...(signing === undefined
      ? {}
      : {
          signing: {
            ...signing,
            ...(signing.certificate === undefined ? {} : { certificate: at(signing.certificate) }),
            ...(signing.key === undefined ? {} : { key: at(signing.key) }),
            ...(signing.trusted === undefined ? {} : { trusted: signing.trusted.map(at) }),
          },
        }),
  };
}
