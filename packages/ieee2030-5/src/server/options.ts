/** UtilityServerOptions checked once and resolved to their defaults. */
import { GridseamError } from '@gridseam/model';
import type { CsipAusVersion } from '../resources/index.ts';
import type {
  NotificationOptions,
  PollRateFamily,
  RegistrationModel,
  ServerProfile,
  ServerTlsOptions,
  TerminatorOptions,
  TimeZoneOptions,
  UtilityObservers,
  UtilityServerOptions,
} from './contract.ts';
import { POLL_RATE_FAMILIES } from './contract.ts';
import { systemNow } from './util.ts';

/** sep.xsd default pollRate (seconds). */
export const DEFAULT_POLL_RATE = 900;
/** The registration PIN the EPRI client and CSIP test procedures expect. */
export const DEFAULT_REGISTRATION_PIN = 111115;
/** Every ResponseType of 2030.5-2018 Table 27. */
export const ALL_RESPONSE_STATUSES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 252, 253, 254];
const MAX_UINT32 = 4294967295;

export interface ResolvedOptions {
  profile: ServerProfile;
  csipaus: boolean;
  csipausVersion: CsipAusVersion;
  tls: ServerTlsOptions | undefined;
  terminator: { header: string; trustedProxies: Set<string> } | undefined;
  pollRates: Record<PollRateFamily, number>;
  postRate: number | undefined;
  defaultExportLimitW: number | undefined;
  registration: RegistrationModel;
  registrationPin: number;
  sharedControls: boolean;
  allowConnectionPointUpdates: boolean;
  nmiValidation: boolean;
  responseStatuses: ReadonlySet<number>;
  mridPen: number;
  notifications: Required<
    Pick<NotificationOptions, 'allowLoopback' | 'timeoutMs' | 'rejectUnauthorized' | 'checkHostname'>
  > & {
    attempts: number;
    initialDelayMs: number;
    maxDelayMs: number;
    ca: NotificationOptions['ca'];
  };
  bodyLimit: number;
  defaultListLimit: number;
  maxListLimit: number;
  keepAliveTimeoutMs: number;
  readingRetention: number;
  controlRetentionSeconds: number;
  responseCacheEntries: number;
  timeZone: Required<TimeZoneOptions>;
  now: () => number;
  log: (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;
  observers: UtilityObservers;
}

function configError(message: string): GridseamError {
  return new GridseamError('GW_ERR_CONFIG', `utility server options: ${message}`);
}

function wholeNumber(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw configError(`${what} must be a whole number from ${min} to ${max}`);
  return value;
}

function optionalWhole(value: unknown, what: string, min: number, max: number): number | undefined {
  return value === undefined ? undefined : wholeNumber(value, what, min, max);
}

export function resolveOptions(options: UtilityServerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw configError('an options object is required');
  if (options.profile !== 'csip' && options.profile !== 'csip-aus')
    throw configError("profile must be 'csip' or 'csip-aus'");
  const csipausVersion = options.csipausVersion ?? 'v1.2';
  if (csipausVersion !== 'v1.2' && csipausVersion !== 'v1.3')
    throw configError("csipausVersion must be 'v1.2' or 'v1.3'");
  if ((options.tls === undefined) === (options.terminator === undefined))
    throw configError('give exactly one of tls (mutual TLS) or terminator (behind a TLS terminator)');
  let terminator: ResolvedOptions['terminator'];
  if (options.terminator !== undefined) {
    const { header, trustedProxies } = options.terminator satisfies TerminatorOptions;
    if (typeof header !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(header))
      throw configError('terminator.header must be an HTTP header name');
    terminator = {
      header: header.toLowerCase(),
      trustedProxies: new Set(trustedProxies ?? ['127.0.0.1', '::1', '::ffff:127.0.0.1']),
    };
  }
  const variances = options.variances ?? {};
  const pollRates = {} as Record<PollRateFamily, number>;
  for (const family of POLL_RATE_FAMILIES) {
    pollRates[family] =
      optionalWhole(variances.pollRates?.[family], `variances.pollRates.${family}`, 0, MAX_UINT32) ?? DEFAULT_POLL_RATE;
  }
  for (const key of Object.keys(variances.pollRates ?? {})) {
    if (!POLL_RATE_FAMILIES.includes(key as PollRateFamily))
      throw configError(`variances.pollRates.${key} is not a resource family with a pollRate`);
  }
  const registration = variances.registration ?? 'out-of-band';
  if (registration !== 'out-of-band' && registration !== 'in-band' && registration !== 'both')
    throw configError("variances.registration must be 'out-of-band', 'in-band' or 'both'");
  const responseStatuses = variances.responseStatuses ?? ALL_RESPONSE_STATUSES;
  if (!Array.isArray(responseStatuses) || responseStatuses.length === 0)
    throw configError('variances.responseStatuses must be a non-empty list');
  for (const status of responseStatuses) wholeNumber(status, 'variances.responseStatuses[]', 0, 255);
  if (variances.defaultExportLimitW !== undefined && !Number.isFinite(variances.defaultExportLimitW))
    throw configError('variances.defaultExportLimitW must be a number of watts');
  const notifications = options.notifications ?? {};
  const retry = notifications.retry ?? {};
  const longestPollMs = Math.max(...Object.values(pollRates)) * 1000;
  const log =
    options.log ??
    ((level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => {
      if (level !== 'info') process.emitWarning(`${message}${details ? ` ${JSON.stringify(details)}` : ''}`);
    });
  const timeZone = options.timeZone;
  return {
    profile: options.profile,
    csipaus: options.profile === 'csip-aus',
    csipausVersion,
    tls: options.tls,
    terminator,
    pollRates,
    postRate: optionalWhole(variances.postRate, 'variances.postRate', 0, MAX_UINT32),
    defaultExportLimitW: variances.defaultExportLimitW,
    registration,
    registrationPin:
      optionalWhole(variances.registrationPin, 'variances.registrationPin', 0, MAX_UINT32) ?? DEFAULT_REGISTRATION_PIN,
    sharedControls: variances.sharedControls ?? true,
    allowConnectionPointUpdates: variances.allowConnectionPointUpdates ?? true,
    nmiValidation: variances.nmiValidation ?? options.profile === 'csip-aus',
    responseStatuses: new Set(responseStatuses),
    mridPen: optionalWhole(variances.mridPen, 'variances.mridPen', 0, MAX_UINT32) ?? 0,
    notifications: {
      allowLoopback: notifications.allowLoopback ?? false,
      timeoutMs: optionalWhole(notifications.timeoutMs, 'notifications.timeoutMs', 1, 600_000) ?? 10_000,
      rejectUnauthorized: notifications.rejectUnauthorized ?? true,
      checkHostname: notifications.checkHostname ?? true,
      attempts: optionalWhole(retry.attempts, 'notifications.retry.attempts', 1, 100) ?? 10,
      initialDelayMs: optionalWhole(retry.initialDelayMs, 'notifications.retry.initialDelayMs', 0, 3_600_000) ?? 2000,
      maxDelayMs: optionalWhole(retry.maxDelayMs, 'notifications.retry.maxDelayMs', 0, 3_600_000) ?? 120_000,
      ca: notifications.ca ?? options.tls?.ca,
    },
    bodyLimit: optionalWhole(options.bodyLimit, 'bodyLimit', 1024, 16 * 1024 * 1024) ?? 64 * 1024,
    defaultListLimit: optionalWhole(options.defaultListLimit, 'defaultListLimit', 0, 65535) ?? 1,
    maxListLimit: optionalWhole(options.maxListLimit, 'maxListLimit', 1, 65535) ?? 500,
    keepAliveTimeoutMs:
      optionalWhole(options.keepAliveTimeoutMs, 'keepAliveTimeoutMs', 1000, 2 ** 31 - 1) ??
      Math.min(2 ** 31 - 1, Math.max(longestPollMs + 60_000, 3_600_000)),
    readingRetention: optionalWhole(options.readingRetention, 'readingRetention', 1, 1_000_000) ?? 100,
    controlRetentionSeconds:
      optionalWhole(options.controlRetentionSeconds, 'controlRetentionSeconds', 0, 2 ** 31 - 1) ?? 7 * 24 * 3600,
    responseCacheEntries: optionalWhole(options.responseCacheEntries, 'responseCacheEntries', 0, 10_000_000) ?? 100_000,
    timeZone: {
      tzOffset: optionalWhole(timeZone?.tzOffset, 'timeZone.tzOffset', -86400, 86400) ?? 0,
      dstOffset: optionalWhole(timeZone?.dstOffset, 'timeZone.dstOffset', -86400, 86400) ?? 0,
      dstStartTime: optionalWhole(timeZone?.dstStartTime, 'timeZone.dstStartTime', 0, 2 ** 53 - 1) ?? 0,
      dstEndTime: optionalWhole(timeZone?.dstEndTime, 'timeZone.dstEndTime', 0, 2 ** 53 - 1) ?? 0,
    },
    now: options.now ?? systemNow,
    log,
    observers: options.observers ?? {},
  };
}
