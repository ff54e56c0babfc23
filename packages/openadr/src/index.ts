/**
 * @gridseam/openadr: OpenADR 2.0b codec and VEN, 3.x types, VEN and VTN (issue 7).
 */

export {
  type CanonicalEventResult as Oadr2bCanonicalResult,
  eventIdOf as oadr2bEventId,
  OADR2B_SOURCE,
  type Oadr2bProgramMapping,
  type Oadr2bTargetMap,
  programEventFrom2b,
  type SimpleLevelControl as Oadr2bSimpleLevelControl,
} from './v2b/canonical.ts';
// OpenADR 2.0b XML codec (messages as typed data, emit/parse, XML signatures).
export * as Oadr2b from './v2b/codec/index.ts';
export {
  emitOadr,
  type OadrMessage,
  type OadrMessageType,
  parseOadr,
  parseOadrEnvelope,
  signOadr,
  verifyOadr,
} from './v2b/codec/index.ts';
// OpenADR 2.0b VEN (simple HTTP pull, mutual TLS, signatures) and 2.0b events -> canonical ProgramEvents (pure).
export {
  createVen2b,
  createVen2bHttpTransport,
  MemoryVen2bStateStore,
  OADR2B_CIPHERS,
  type OptDoc as Oadr2bOptDoc,
  type OptScheduleInput as Oadr2bOptScheduleInput,
  type OptWindow as Oadr2bOptWindow,
  type Ven2b,
  type Ven2bEvent,
  type Ven2bExchange,
  type Ven2bListeners,
  type Ven2bLogLevel,
  type Ven2bOptions,
  type Ven2bRecordKind,
  type Ven2bRegistration,
  type Ven2bReply,
  type Ven2bReportMetadata,
  type Ven2bReportRun,
  type Ven2bReportSent,
  type Ven2bSample,
  type Ven2bStateChange,
  type Ven2bStateStore,
  type Ven2bStoredRecord,
  type Ven2bTelemetryRequest,
  type Ven2bTelemetrySource,
  type Ven2bTlsOptions,
  type Ven2bTransport,
  type VenEventStatus as Ven2bEventStatus,
} from './v2b/ven/index.ts';
// OpenADR 3 <-> canonical model (pure) and the VEN (createVen3).
export {
  aggregateValues,
  buildReport,
  DEFAULT_SIMPLE_LEVELS,
  eventFromOadr3,
  type IntervalTiming,
  type NormalizedReportDescriptor,
  OADR3_EVENT_SOURCE,
  type Oadr3EventContext,
  type Oadr3EventDraft,
  type Oadr3EventLike,
  type Oadr3ProgramLike,
  type Oadr3Target,
  type Oadr3ValuesMap,
  oadr3CanonicalId,
  type PricePoint,
  type ProgramEventDraft as Oadr3ProgramEventDraft,
  type ProgramMapping as Oadr3ProgramMapping,
  programFromOadr3,
  type ReportIntervalData,
  type ResourceValues as Oadr3ResourceValues,
  reportPayload,
  type SimpleLevelControl,
  type SimpleLevelMapping,
  type TargetMapping as Oadr3TargetMapping,
  targetsOf as oadr3TargetsOf,
  type UnsupportedPayload,
} from './v3/canonical.ts';
export * from './v3/types/index.ts';
export {
  OADR3_VERSIONS,
  type Oadr3Operation,
  type Oadr3SchemaMap,
  type Oadr3Version,
  type OpenapiValidator,
  openapiValidator,
  type ParsedParameters,
  type Problem,
  type RawParameters,
} from './v3/validate.ts';
export * from './v3/ven/index.ts';
// OpenADR 3 VTN (createVtn, VtnStore, MemoryVtnStore).
export * from './v3/vtn/index.ts';
