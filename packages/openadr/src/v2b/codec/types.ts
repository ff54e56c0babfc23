/**
 * OpenADR 2.0b messages of the simple HTTP profile as plain data (oadr_20b.xsd and the schemas it imports).
 *
 * Conventions:
 * - property names are the XML local names; single-value wrappers are flattened (`xcal:dtstart/xcal:date-time`
 *   becomes `dtstart`, `ei:eiMarketContext/emix:marketContext` becomes `marketContext`, `xcal:uid/xcal:text`
 *   becomes `uid`, `ei:signalPayload/ei:payloadFloat/ei:value` becomes `signalPayload`);
 * - times (xcal:DateTimeType) are epoch milliseconds (UTC), durations (xcal:DurationValueType) are seconds;
 * - floats are finite numbers, xs:unsignedInt values are integers 0..4294967295;
 * - repeated elements are arrays; a property whose element may be absent is optional and left out by the
 *   parser when absent (the emitter treats `undefined` and `[]` alike);
 * - enumerations that the schema opens with `x-` extensions accept any `x-...` token.
 */

// ---------------------------------------------------------------- simple types

/** ei:EventStatusEnumeratedType. */
export type EventStatus = 'none' | 'far' | 'near' | 'active' | 'completed' | 'cancelled';
/** ei:OptTypeType. */
export type OptType = 'optIn' | 'optOut';
/** oadr:ResponseRequiredType. */
export type ResponseRequired = 'always' | 'never';
/** oadr:oadrProfileType. */
export type OadrProfileName = '2.0a' | '2.0b';
/** oadr:oadrTransportType. */
export type OadrTransportName = 'simpleHttp' | 'xmpp';
/** oadr:oadrServiceNameType. */
export type OadrServiceName = 'EiEvent' | 'EiOpt' | 'EiReport' | 'EiRegisterParty' | 'OadrPoll';
/** ei:EiExtensionTokenType: `x-` followed by at least one non-space character. */
export type ExtensionToken = `x-${string}`;

/** ei:SignalTypeEnumeratedType (closed: no extensions). */
export type SignalType =
  | 'delta'
  | 'level'
  | 'multiplier'
  | 'price'
  | 'priceMultiplier'
  | 'priceRelative'
  | 'setpoint'
  | 'x-loadControlCapacity'
  | 'x-loadControlLevelOffset'
  | 'x-loadControlPercentOffset'
  | 'x-loadControlSetpoint';

/** ei:signalNameType (SignalNameEnumeratedType or an extension). OpenLEADR writes lower-case `simple`. */
export type SignalName =
  | 'SIMPLE'
  | 'simple'
  | 'ELECTRICITY_PRICE'
  | 'ENERGY_PRICE'
  | 'DEMAND_CHARGE'
  | 'BID_PRICE'
  | 'BID_LOAD'
  | 'BID_ENERGY'
  | 'CHARGE_STATE'
  | 'LOAD_DISPATCH'
  | 'LOAD_CONTROL'
  | ExtensionToken;

/** ei:OptReasonType. */
export type OptReason =
  | 'economic'
  | 'emergency'
  | 'mustRun'
  | 'notParticipating'
  | 'outageRunStatus'
  | 'overrideStatus'
  | 'participating'
  | 'x-schedule'
  | ExtensionToken;

/** ei:reportNameType. */
export type ReportName =
  | 'METADATA_HISTORY_USAGE'
  | 'HISTORY_USAGE'
  | 'METADATA_HISTORY_GREENBUTTON'
  | 'HISTORY_GREENBUTTON'
  | 'METADATA_TELEMETRY_USAGE'
  | 'TELEMETRY_USAGE'
  | 'METADATA_TELEMETRY_STATUS'
  | 'TELEMETRY_STATUS'
  | ExtensionToken;

/** ei:ReportTypeType. */
export type ReportType =
  | 'reading'
  | 'usage'
  | 'demand'
  | 'setPoint'
  | 'deltaUsage'
  | 'deltaSetPoint'
  | 'deltaDemand'
  | 'baseline'
  | 'deviation'
  | 'avgUsage'
  | 'avgDemand'
  | 'operatingState'
  | 'upRegulationCapacityAvailable'
  | 'downRegulationCapacityAvailable'
  | 'regulationSetpoint'
  | 'storedEnergy'
  | 'targetEnergyStorage'
  | 'availableEnergyStorage'
  | 'price'
  | 'level'
  | 'powerFactor'
  | 'percentUsage'
  | 'percentDemand'
  | 'x-resourceStatus'
  | ExtensionToken;

/** ei:ReadingTypeType. */
export type ReadingType =
  | 'Direct Read'
  | 'Net'
  | 'Allocated'
  | 'Estimated'
  | 'Summed'
  | 'Derived'
  | 'Mean'
  | 'Peak'
  | 'Hybrid'
  | 'Contract'
  | 'Projected'
  | 'x-RMS'
  | 'x-notApplicable'
  | ExtensionToken;

/** oadr:oadrDataQualityTypeType. */
export type DataQuality =
  | 'No Quality - No Value'
  | 'No New Value - Previous Value Used'
  | 'Quality Bad - Non Specific'
  | 'Quality Bad - Configuration Error'
  | 'Quality Bad - Not Connected'
  | 'Quality Bad - Device Failure'
  | 'Quality Bad - Sensor Failure'
  | 'Quality Bad - Last Known Value'
  | 'Quality Bad - Comm Failure'
  | 'Quality Bad - Out of Service'
  | 'Quality Uncertain - Non Specific'
  | 'Quality Uncertain - Last Usable Value'
  | 'Quality Uncertain - Sensor Not Accurate'
  | 'Quality Uncertain - EU Units Exceeded'
  | 'Quality Uncertain - Sub Normal'
  | 'Quality Good - Non Specific'
  | 'Quality Good - Local Override'
  | 'Quality Limit - Field/Not'
  | 'Quality Limit - Field/Low'
  | 'Quality Limit - Field/High'
  | 'Quality Limit - Field/Constant'
  | ExtensionToken;

/** scale:SiScaleCodeType. */
export type SiScaleCode = 'p' | 'n' | 'micro' | 'm' | 'c' | 'd' | 'k' | 'M' | 'G' | 'T' | 'none';

// ---------------------------------------------------------------- shared structures

/** ei:eiResponse. `responseCode` is the 3-digit code (200 OK, 4xx errors; see OADR_STATUS). */
export interface EiResponse {
  responseCode: number;
  responseDescription?: string;
  requestID: string;
}

/** ei:qualifiedEventID. */
export interface QualifiedEventID {
  eventID: string;
  modificationNumber: number;
}

/** gml:FeatureCollection (location/Polygon/exterior/LinearRing/posList) used by serviceArea and serviceLocation. */
export interface GmlFeatureCollection {
  /** gml:id of the FeatureCollection. */
  id?: string;
  /** gml:id of the Polygon. */
  polygonId?: string;
  posList: number[];
}

/** power:transportInterface. */
export interface TransportInterface {
  pointOfReceipt: string;
  pointOfDelivery: string;
}

/**
 * ei:EiTargetType (eiTarget, reportSubject, reportDataSource, oadrDeviceClass). Node and mRID lists hold the text
 * of power:node / power:mrid.
 */
export interface EiTarget {
  aggregatedPnode?: string[];
  endDeviceAsset?: string[];
  meterAsset?: string[];
  pnode?: string[];
  serviceArea?: GmlFeatureCollection[];
  serviceDeliveryPoint?: string[];
  serviceLocation?: GmlFeatureCollection[];
  transportInterface?: TransportInterface[];
  groupID?: string[];
  groupName?: string[];
  resourceID?: string[];
  venID?: string[];
  partyID?: string[];
}

/** power:powerAttributes. */
export interface PowerAttributes {
  hertz: number;
  voltage: number;
  ac: boolean;
}

/** Members of the emix:itemBase substitution group with itemDescription, itemUnits and siScaleCode. */
export type ScaledItemKind =
  | 'voltage'
  | 'energyApparent'
  | 'energyReactive'
  | 'energyReal'
  | 'customUnit'
  | 'current'
  | 'currency'
  | 'currencyPerKWh'
  | 'currencyPerKW'
  | 'currencyPerThm'
  | 'frequency'
  | 'Therm'
  | 'temperature';

/** Members with power:powerAttributes. */
export type PowerItemKind = 'powerApparent' | 'powerReactive' | 'powerReal';

/**
 * emix:itemBase (units of a signal or report data point), discriminated by the element name. Fixed
 * descriptions/units from the schema are checked (an empty description takes the fixed value, as XSD allows).
 */
export type ItemBase =
  | { kind: ScaledItemKind; itemDescription: string; itemUnits: string; siScaleCode: SiScaleCode }
  | {
      kind: PowerItemKind;
      itemDescription: string;
      itemUnits: string;
      siScaleCode: SiScaleCode;
      powerAttributes: PowerAttributes;
    }
  | { kind: 'pulseCount'; itemDescription: string; itemUnits: string; pulseFactor: number };

/** xcal:properties (eiActivePeriod, reportInterval, vavailability/available). Times ms, durations s. */
export interface CalendarProperties {
  dtstart: number;
  duration: number;
  /** tolerance/tolerate/startafter: the start randomization window (seconds). */
  startafter?: number;
  /** ei:x-eiNotification. */
  notification?: number;
  /** ei:x-eiRampUp. */
  rampUp?: number;
  /** ei:x-eiRecovery. */
  recovery?: number;
}

// ---------------------------------------------------------------- events

/** ei:eventDescriptor. */
export interface EventDescriptor {
  eventID: string;
  modificationNumber: number;
  modificationDateTime?: number;
  modificationReason?: string;
  priority?: number;
  /** ei:eiMarketContext/emix:marketContext (anyURI). */
  marketContext: string;
  createdDateTime: number;
  eventStatus: EventStatus;
  /** xs:string: any value other than "false" marks a test event. */
  testEvent?: string;
  vtnComment?: string;
}

/** ei:interval of an event signal or baseline. One signalPayload (payloadFloat) per interval is supported. */
export interface EventInterval {
  dtstart?: number;
  duration?: number;
  /** xcal:uid/xcal:text: 0, 1, 2... in OpenADR 2.0b. */
  uid?: string;
  /** ei:signalPayload/ei:payloadFloat/ei:value. */
  signalPayload: number;
}

/** ei:eiEventSignal. */
export interface EventSignal {
  intervals: EventInterval[];
  eiTarget?: EiTarget;
  signalName: SignalName;
  signalType: SignalType;
  signalID: string;
  itemBase?: ItemBase;
  /** ei:currentValue/ei:payloadFloat/ei:value. */
  currentValue?: number;
}

/** ei:eiEventBaseline. */
export interface EventBaseline {
  dtstart: number;
  duration: number;
  intervals: EventInterval[];
  baselineID: string;
  resourceID?: string[];
  baselineName: string;
  itemBase?: ItemBase;
}

/** oadr:oadrEvent: its ei:eiEvent flattened, plus oadrResponseRequired. */
export interface OadrEvent {
  eventDescriptor: EventDescriptor;
  /** ei:eiActivePeriod/xcal:properties (the empty xcal:components is implied). */
  eiActivePeriod: CalendarProperties;
  /** ei:eiEventSignals/ei:eiEventSignal (at least one). */
  eiEventSignals: EventSignal[];
  /** ei:eiEventSignals/ei:eiEventBaseline. */
  eiEventBaseline?: EventBaseline;
  eiTarget: EiTarget;
  oadrResponseRequired: ResponseRequired;
}

/** ei:eventResponses/ei:eventResponse. */
export interface EventResponse {
  responseCode: number;
  responseDescription?: string;
  requestID: string;
  qualifiedEventID: QualifiedEventID;
  optType: OptType;
}

// ---------------------------------------------------------------- reports

/** oadr:oadrSamplingRate (durations in seconds). */
export interface SamplingRate {
  oadrMinPeriod: number;
  oadrMaxPeriod: number;
  oadrOnChange: boolean;
}

/** oadr:oadrReportDescription. */
export interface ReportDescription {
  rID: string;
  reportSubject?: EiTarget;
  reportDataSource?: EiTarget;
  reportType: ReportType;
  itemBase?: ItemBase;
  readingType: ReadingType;
  marketContext?: string;
  oadrSamplingRate?: SamplingRate;
}

/** oadr:oadrLoadControlStateTypeType. */
export interface LoadControlStateValue {
  oadrMin?: number;
  oadrMax?: number;
  oadrCurrent: number;
  oadrNormal?: number;
}

/** oadr:oadrLoadControlState. */
export interface LoadControlState {
  oadrCapacity?: LoadControlStateValue;
  oadrLevelOffset?: LoadControlStateValue;
  oadrPercentOffset?: LoadControlStateValue;
  oadrSetPoint?: LoadControlStateValue;
}

/** The ei:payloadBase of a report payload: ei:payloadFloat or oadr:oadrPayloadResourceStatus. */
export type ReportPayloadValue =
  | { kind: 'payloadFloat'; value: number }
  | {
      kind: 'oadrPayloadResourceStatus';
      oadrOnline: boolean;
      oadrManualOverride: boolean;
      oadrLoadControlState?: LoadControlState;
    };

/** oadr:oadrReportPayload. */
export interface ReportPayload {
  rID: string;
  /** 0..100. */
  confidence?: number;
  accuracy?: number;
  payload: ReportPayloadValue;
  oadrDataQuality?: DataQuality;
}

/** ei:interval of a report: at least one oadrReportPayload. */
export interface ReportInterval {
  dtstart?: number;
  duration?: number;
  uid?: string;
  oadrReportPayload: ReportPayload[];
}

/** oadr:oadrReport (metadata reports carry descriptions, data reports carry intervals). */
export interface OadrReport {
  dtstart?: number;
  duration?: number;
  /** strm:intervals/ei:interval; when present at least one interval. */
  intervals?: ReportInterval[];
  eiReportID?: string;
  oadrReportDescription?: ReportDescription[];
  /** "0" in a VEN's metadata oadrRegisterReport (conformance rule 311). */
  reportRequestID: string;
  reportSpecifierID: string;
  reportName?: ReportName;
  createdDateTime: number;
}

/** ei:specifierPayload. */
export interface SpecifierPayload {
  rID: string;
  itemBase?: ItemBase;
  readingType: ReadingType;
}

/** ei:reportSpecifier (durations in seconds). */
export interface ReportSpecifier {
  reportSpecifierID: string;
  /** xcal:granularity/xcal:duration. */
  granularity: number;
  /** ei:reportBackDuration/xcal:duration. */
  reportBackDuration: number;
  /** ei:reportInterval/xcal:properties. */
  reportInterval?: CalendarProperties;
  specifierPayload: SpecifierPayload[];
}

/** oadr:oadrReportRequest. */
export interface ReportRequest {
  reportRequestID: string;
  reportSpecifier: ReportSpecifier;
}

// ---------------------------------------------------------------- registration

/** oadr:oadrProfiles/oadr:oadrProfile; its oadrTransports/oadrTransport/oadrTransportName flattened to a list. */
export interface OadrProfile {
  oadrProfileName: OadrProfileName;
  oadrTransports: OadrTransportName[];
}

/** oadr:oadrInfo. */
export interface OadrInfo {
  oadrKey: string;
  oadrValue: string;
}

/** oadr:oadrServiceSpecificInfo/oadr:oadrService. */
export interface OadrService {
  oadrServiceName: OadrServiceName;
  oadrInfo: OadrInfo[];
}

/** oadr:oadrExtensions/oadr:oadrExtension. */
export interface OadrExtension {
  oadrExtensionName: string;
  oadrInfo?: OadrInfo[];
}

// ---------------------------------------------------------------- messages (oadrSignedObject children)

export interface OadrQueryRegistration {
  type: 'oadrQueryRegistration';
  requestID: string;
}

export interface OadrCreatePartyRegistration {
  type: 'oadrCreatePartyRegistration';
  requestID: string;
  /** Set when re-registering an existing registration. */
  registrationID?: string;
  venID?: string;
  oadrProfileName: OadrProfileName;
  oadrTransportName: OadrTransportName;
  oadrTransportAddress?: string;
  oadrReportOnly: boolean;
  oadrXmlSignature: boolean;
  oadrVenName?: string;
  oadrHttpPullModel?: boolean;
}

export interface OadrCreatedPartyRegistration {
  type: 'oadrCreatedPartyRegistration';
  eiResponse: EiResponse;
  registrationID?: string;
  venID?: string;
  vtnID: string;
  oadrProfiles: OadrProfile[];
  /** HTTP pull: poll at most once per this many seconds. */
  oadrRequestedOadrPollFreq?: number;
  oadrServiceSpecificInfo?: OadrService[];
  oadrExtensions?: OadrExtension[];
}

export interface OadrCancelPartyRegistration {
  type: 'oadrCancelPartyRegistration';
  requestID: string;
  registrationID: string;
  venID?: string;
}

export interface OadrCanceledPartyRegistration {
  type: 'oadrCanceledPartyRegistration';
  eiResponse: EiResponse;
  registrationID?: string;
  venID?: string;
}

export interface OadrRequestReregistration {
  type: 'oadrRequestReregistration';
  venID: string;
}

export interface OadrPoll {
  type: 'oadrPoll';
  venID: string;
}

export interface OadrResponse {
  type: 'oadrResponse';
  eiResponse: EiResponse;
  venID?: string;
}

export interface OadrDistributeEvent {
  type: 'oadrDistributeEvent';
  eiResponse?: EiResponse;
  requestID: string;
  vtnID: string;
  oadrEvent?: OadrEvent[];
}

/** oadrRequestEvent/pyld:eiRequestEvent flattened. */
export interface OadrRequestEvent {
  type: 'oadrRequestEvent';
  requestID: string;
  venID: string;
  replyLimit?: number;
}

/** oadrCreatedEvent/pyld:eiCreatedEvent flattened. */
export interface OadrCreatedEvent {
  type: 'oadrCreatedEvent';
  eiResponse: EiResponse;
  /** ei:eventResponses/ei:eventResponse. */
  eventResponses?: EventResponse[];
  venID: string;
}

export interface OadrRegisterReport {
  type: 'oadrRegisterReport';
  requestID: string;
  oadrReport?: OadrReport[];
  venID?: string;
  reportRequestID?: string;
}

export interface OadrRegisteredReport {
  type: 'oadrRegisteredReport';
  eiResponse: EiResponse;
  oadrReportRequest?: ReportRequest[];
  venID?: string;
}

export interface OadrCreateReport {
  type: 'oadrCreateReport';
  requestID: string;
  /** At least one. */
  oadrReportRequest: ReportRequest[];
  venID?: string;
}

export interface OadrCreatedReport {
  type: 'oadrCreatedReport';
  eiResponse: EiResponse;
  /** oadrPendingReports/reportRequestID (may be empty). */
  oadrPendingReports: string[];
  venID?: string;
}

export interface OadrUpdateReport {
  type: 'oadrUpdateReport';
  requestID: string;
  oadrReport?: OadrReport[];
  venID?: string;
}

/** oadrCancelReport as nested in oadrUpdatedReport (no `type`). */
export interface CancelReportBody {
  requestID: string;
  /** At least one. */
  reportRequestID: string[];
  reportToFollow: boolean;
  venID?: string;
}

export interface OadrUpdatedReport {
  type: 'oadrUpdatedReport';
  eiResponse: EiResponse;
  oadrCancelReport?: CancelReportBody;
  venID?: string;
}

export interface OadrCancelReport extends CancelReportBody {
  type: 'oadrCancelReport';
}

export interface OadrCanceledReport {
  type: 'oadrCanceledReport';
  eiResponse: EiResponse;
  oadrPendingReports: string[];
  venID?: string;
}

/** oadrCreateOpt: an opt schedule (vavailability) or an opt on one event (qualifiedEventID). */
export interface OadrCreateOpt {
  type: 'oadrCreateOpt';
  optID: string;
  optType: OptType;
  optReason: OptReason;
  marketContext?: string;
  venID: string;
  /** xcal:vavailability/xcal:components/xcal:available/xcal:properties. */
  vavailability?: CalendarProperties[];
  createdDateTime: number;
  requestID: string;
  qualifiedEventID?: QualifiedEventID;
  eiTarget: EiTarget;
  oadrDeviceClass?: EiTarget;
}

export interface OadrCreatedOpt {
  type: 'oadrCreatedOpt';
  eiResponse: EiResponse;
  optID: string;
}

export interface OadrCancelOpt {
  type: 'oadrCancelOpt';
  requestID: string;
  optID: string;
  venID: string;
}

export interface OadrCanceledOpt {
  type: 'oadrCanceledOpt';
  eiResponse: EiResponse;
  optID?: string;
}

/** Every payload an oadrSignedObject can carry, discriminated by `type` = the payload element name. */
export type OadrMessage =
  | OadrQueryRegistration
  | OadrCreatePartyRegistration
  | OadrCreatedPartyRegistration
  | OadrCancelPartyRegistration
  | OadrCanceledPartyRegistration
  | OadrRequestReregistration
  | OadrPoll
  | OadrResponse
  | OadrDistributeEvent
  | OadrRequestEvent
  | OadrCreatedEvent
  | OadrRegisterReport
  | OadrRegisteredReport
  | OadrCreateReport
  | OadrCreatedReport
  | OadrUpdateReport
  | OadrUpdatedReport
  | OadrCancelReport
  | OadrCanceledReport
  | OadrCreateOpt
  | OadrCreatedOpt
  | OadrCancelOpt
  | OadrCanceledOpt;

export type OadrMessageType = OadrMessage['type'];

/** The message of one type. */
export type OadrMessageOf<T extends OadrMessageType> = Extract<OadrMessage, { type: T }>;

/** Every message type, in oadrSignedObject's xs:choice order. */
export const OADR_MESSAGE_TYPES = [
  'oadrDistributeEvent',
  'oadrCreatedEvent',
  'oadrRequestEvent',
  'oadrResponse',
  'oadrCancelOpt',
  'oadrCanceledOpt',
  'oadrCreateOpt',
  'oadrCreatedOpt',
  'oadrCancelReport',
  'oadrCanceledReport',
  'oadrCreateReport',
  'oadrCreatedReport',
  'oadrRegisterReport',
  'oadrRegisteredReport',
  'oadrUpdateReport',
  'oadrUpdatedReport',
  'oadrCancelPartyRegistration',
  'oadrCanceledPartyRegistration',
  'oadrCreatePartyRegistration',
  'oadrCreatedPartyRegistration',
  'oadrRequestReregistration',
  'oadrQueryRegistration',
  'oadrPoll',
] as const satisfies readonly OadrMessageType[];

/** OpenADR 2.0b response codes (ei:responseCode). */
export const OADR_STATUS = {
  OK: 200,
  OUT_OF_SEQUENCE: 450,
  NOT_ALLOWED: 451,
  INVALID_ID: 452,
  NOT_RECOGNIZED: 453,
  INVALID_DATA: 454,
  COMPLIANCE_ERROR: 459,
  SIGNAL_NOT_SUPPORTED: 460,
  REPORT_NOT_SUPPORTED: 461,
  TARGET_MISMATCH: 462,
  NOT_REGISTERED_OR_AUTHORIZED: 463,
  DEPLOYMENT_ERROR_OR_OTHER_ERROR: 469,
} as const;
