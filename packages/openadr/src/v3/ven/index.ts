/**
 * The OpenADR 3 VEN: `createVen3` (./ven.ts) and its parts.
 */
export { type ClientCredentials, clientCredentialsSource, type TokenSource } from './auth.ts';
export {
  CALLBACK_PATH_PREFIX,
  type CallbackReceiver,
  type CallbackReceiverOptions,
  type Oadr3Notification,
  startCallbackReceiver,
} from './callback.ts';
export { createVtnHttp, type VtnHttp, type VtnHttpOptions, type VtnRequest, type VtnResponse } from './http.ts';
export {
  IntervalAccumulator,
  type PlannedReport,
  plannedReports,
  type ReportGroup,
  type ResourceSample,
  reportGroups,
} from './reports.ts';
export {
  AGGREGATED_REPORT,
  createVen3,
  DEFAULT_AD_HOC_INTERVAL_MS,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_SAMPLE_INTERVAL_MS,
  type EventChange,
  type ProgramChange,
  type ReportPosted,
  type SyncSummary,
  type Ven3,
  type Ven3Events,
  type Ven3Options,
  type Ven3ReportOptions,
  type Ven3Status,
} from './ven.ts';
