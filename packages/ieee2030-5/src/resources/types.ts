/**
 * IEEE 2030.5-2018 (sep.xsd 2.1.0) resources as plain objects, plus the CSIP-AUS extensions.
 *
 * Convention (other modules rely on it):
 * - Property names are EXACTLY the XML local names of the attributes and child elements.
 * - Integer types (UInt8..Int64, TimeType, PerCent...) are `number`; TimeType is epoch seconds.
 * - HexBinary types (mRID, lFDI, responseRequired, bitmaps such as modesSupported) are lower-case hex strings
 *   without `0x`, an even number of digits (use `hexBitmap` from ../codec/hex.ts to build bitmaps).
 * - Booleans are `boolean`; String and anyURI types are `string`.
 * - An element that may repeat is always an array. In List resources the item array is always present
 *   (possibly empty); other repeating elements are optional arrays.
 * - Attributes with a schema default (pollRate 900, subscribable 0, responseRequired "00") stay absent
 *   unless sent; read them with the default in mind.
 * - CSIP-AUS extension elements use their plain local names (the codec adds the `csipaus:` prefix).
 * - Links are `{ href }`; the many named link types of sep.xsd (EndDeviceListLink...) all map to Link or ListLink.
 */

export interface Link {
  href: string;
}

export interface ListLink extends Link {
  all?: number;
}

export interface Resource {
  href?: string;
}

export interface FunctionSetAssignmentsBase extends Resource {
  CustomerAccountListLink?: ListLink;
  DemandResponseProgramListLink?: ListLink;
  DERProgramListLink?: ListLink;
  FileListLink?: ListLink;
  MessagingProgramListLink?: ListLink;
  PrepaymentListLink?: ListLink;
  ResponseSetListLink?: ListLink;
  TariffProfileListLink?: ListLink;
  TimeLink?: Link;
  UsagePointListLink?: ListLink;
}

export interface DeviceCapability extends FunctionSetAssignmentsBase {
  EndDeviceListLink?: ListLink;
  MirrorUsagePointListLink?: ListLink;
  SelfDeviceLink?: Link;
  pollRate?: number;
}

export interface Time extends Resource {
  currentTime: number;
  dstEndTime: number;
  dstOffset: number;
  dstStartTime: number;
  localTime?: number;
  quality: number;
  tzOffset: number;
  pollRate?: number;
}

export interface SubscribableResource extends Resource {
  subscribable?: number;
}

export interface AbstractDevice extends SubscribableResource {
  ConfigurationLink?: Link;
  DERListLink?: ListLink;
  deviceCategory?: string;
  DeviceInformationLink?: Link;
  DeviceStatusLink?: Link;
  FileStatusLink?: Link;
  IPInterfaceListLink?: ListLink;
  lFDI?: string;
  LoadShedAvailabilityListLink?: ListLink;
  LogEventListLink?: ListLink;
  PowerStatusLink?: Link;
  sFDI: number;
}

export interface EndDevice extends AbstractDevice {
  changedTime: number;
  enabled?: boolean;
  FlowReservationRequestListLink?: ListLink;
  FlowReservationResponseListLink?: ListLink;
  FunctionSetAssignmentsListLink?: ListLink;
  postRate?: number;
  RegistrationLink?: Link;
  SubscriptionListLink?: ListLink;
  /** CSIP-AUS: link to the ConnectionPoint (the NMI). */
  ConnectionPointLink?: Link;
}

export interface SubscribableList extends SubscribableResource {
  all: number;
  results: number;
}

export interface EndDeviceList extends SubscribableList {
  EndDevice: EndDevice[];
  pollRate?: number;
}

export interface Registration extends Resource {
  dateTimeRegistered: number;
  pIN: number;
  pollRate?: number;
}

export interface FunctionSetAssignments extends FunctionSetAssignmentsBase {
  mRID: string;
  description?: string;
  version?: number;
  subscribable?: number;
}

export interface FunctionSetAssignmentsList extends SubscribableList {
  FunctionSetAssignments: FunctionSetAssignments[];
  pollRate?: number;
}

export interface SubscribableIdentifiedObject extends SubscribableResource {
  mRID: string;
  description?: string;
  version?: number;
}

export interface DERProgram extends SubscribableIdentifiedObject {
  ActiveDERControlListLink?: ListLink;
  DefaultDERControlLink?: Link;
  DERControlListLink?: ListLink;
  DERCurveListLink?: ListLink;
  primacy: number;
}

export interface DERProgramList extends SubscribableList {
  DERProgram: DERProgram[];
  pollRate?: number;
}

export interface RespondableResource extends Resource {
  replyTo?: string;
  responseRequired?: string;
}

export interface RespondableSubscribableIdentifiedObject extends RespondableResource {
  mRID: string;
  description?: string;
  version?: number;
  subscribable?: number;
}

export interface EventStatus {
  currentStatus: number;
  dateTime: number;
  potentiallySuperseded: boolean;
  potentiallySupersededTime?: number;
  reason?: string;
}

export interface DateTimeInterval {
  duration: number;
  start: number;
}

export interface Event extends RespondableSubscribableIdentifiedObject {
  creationTime: number;
  EventStatus: EventStatus;
  interval: DateTimeInterval;
}

export interface RandomizableEvent extends Event {
  randomizeDuration?: number;
  randomizeStart?: number;
}

export interface PowerFactorWithExcitation {
  displacement: number;
  excitation: boolean;
  multiplier: number;
}

export interface FixedVar {
  refType: number;
  value: number;
}

export interface FreqDroopType {
  dBOF: number;
  dBUF: number;
  kOF: number;
  kUF: number;
  openLoopTms: number;
}

export interface ReactivePower {
  multiplier: number;
  value: number;
}

export interface ActivePower {
  multiplier: number;
  value: number;
}

export interface DERControlBase {
  opModConnect?: boolean;
  opModEnergize?: boolean;
  opModFixedPFAbsorbW?: PowerFactorWithExcitation;
  opModFixedPFInjectW?: PowerFactorWithExcitation;
  opModFixedVar?: FixedVar;
  opModFixedW?: number;
  opModFreqDroop?: FreqDroopType;
  opModFreqWatt?: Link;
  opModHFRTMayTrip?: Link;
  opModHFRTMustTrip?: Link;
  opModHVRTMayTrip?: Link;
  opModHVRTMomentaryCessation?: Link;
  opModHVRTMustTrip?: Link;
  opModLFRTMayTrip?: Link;
  opModLFRTMustTrip?: Link;
  opModLVRTMayTrip?: Link;
  opModLVRTMomentaryCessation?: Link;
  opModLVRTMustTrip?: Link;
  opModMaxLimW?: number;
  opModTargetVar?: ReactivePower;
  opModTargetW?: ActivePower;
  opModVoltVar?: Link;
  opModVoltWatt?: Link;
  opModWattPF?: Link;
  opModWattVar?: Link;
  rampTms?: number;
  /** CSIP-AUS: import limit at the connection point. */
  opModImpLimW?: ActivePower;
  /** CSIP-AUS: export limit at the connection point. */
  opModExpLimW?: ActivePower;
  /** CSIP-AUS: generation (discharge) limit of the device or aggregation. */
  opModGenLimW?: ActivePower;
  /** CSIP-AUS: load (charge) limit of the device or aggregation. */
  opModLoadLimW?: ActivePower;
  /** CSIP-AUS 1.3 only: storage target; dropped when emitting CSIP-AUS 1.2. */
  opModStorageTargetW?: ActivePower;
}

export interface DERControl extends RandomizableEvent {
  DERControlBase: DERControlBase;
  deviceCategory?: string;
}

export interface DERControlList extends SubscribableList {
  DERControl: DERControl[];
}

export interface DefaultDERControl extends SubscribableIdentifiedObject {
  DERControlBase: DERControlBase;
  setESDelay?: number;
  setESHighFreq?: number;
  setESHighVolt?: number;
  setESLowFreq?: number;
  setESLowVolt?: number;
  setESRampTms?: number;
  setESRandomDelay?: number;
  setGradW?: number;
  setSoftGradW?: number;
}

export interface IdentifiedObject extends Resource {
  mRID: string;
  description?: string;
  version?: number;
}

export interface CurveData {
  excitation?: boolean;
  xvalue: number;
  yvalue: number;
}

export interface DERCurve extends IdentifiedObject {
  autonomousVRefEnable?: boolean;
  autonomousVRefTimeConstant?: number;
  creationTime: number;
  CurveData: CurveData[];
  curveType: number;
  openLoopTms?: number;
  rampDecTms?: number;
  rampIncTms?: number;
  rampPT1Tms?: number;
  vRef?: number;
  xMultiplier: number;
  yMultiplier: number;
  yRefType: number;
}

export interface List extends Resource {
  all: number;
  results: number;
}

export interface DERCurveList extends List {
  DERCurve: DERCurve[];
}

export interface DER extends SubscribableResource {
  AssociatedDERProgramListLink?: ListLink;
  AssociatedUsagePointLink?: Link;
  CurrentDERProgramLink?: Link;
  DERAvailabilityLink?: Link;
  DERCapabilityLink?: Link;
  DERSettingsLink?: Link;
  DERStatusLink?: Link;
}

export interface DERList extends List {
  DER: DER[];
  pollRate?: number;
}

export interface CurrentRMS {
  multiplier: number;
  value: number;
}

export interface AmpereHour {
  multiplier: number;
  value: number;
}

export interface ApparentPower {
  multiplier: number;
  value: number;
}

export interface VoltageRMS {
  multiplier: number;
  value: number;
}

export interface WattHour {
  multiplier: number;
  value: number;
}

export interface PowerFactor {
  displacement: number;
  multiplier: number;
}

export interface ReactiveSusceptance {
  multiplier: number;
  value: number;
}

export interface DERCapability extends Resource {
  modesSupported: string;
  rtgAbnormalCategory?: number;
  rtgMaxA?: CurrentRMS;
  rtgMaxAh?: AmpereHour;
  rtgMaxChargeRateVA?: ApparentPower;
  rtgMaxChargeRateW?: ActivePower;
  rtgMaxDischargeRateVA?: ApparentPower;
  rtgMaxDischargeRateW?: ActivePower;
  rtgMaxV?: VoltageRMS;
  rtgMaxVA?: ApparentPower;
  rtgMaxVar?: ReactivePower;
  rtgMaxVarNeg?: ReactivePower;
  rtgMaxW: ActivePower;
  rtgMaxWh?: WattHour;
  rtgMinPFOverExcited?: PowerFactor;
  rtgMinPFUnderExcited?: PowerFactor;
  rtgMinV?: VoltageRMS;
  rtgNormalCategory?: number;
  rtgOverExcitedPF?: PowerFactor;
  rtgOverExcitedW?: ActivePower;
  rtgReactiveSusceptance?: ReactiveSusceptance;
  rtgUnderExcitedPF?: PowerFactor;
  rtgUnderExcitedW?: ActivePower;
  rtgVNom?: VoltageRMS;
  type: number;
  /** CSIP-AUS (required by the CSIP-AUS schema): DOE control bitmap, see DOE_CONTROL_BITS. */
  doeModesSupported?: string;
  /** CSIP-AUS 1.3 only: VPP control bitmap. */
  vppModesSupported?: string;
}

export interface DERSettings extends SubscribableResource {
  modesEnabled?: string;
  setESDelay?: number;
  setESHighFreq?: number;
  setESHighVolt?: number;
  setESLowFreq?: number;
  setESLowVolt?: number;
  setESRampTms?: number;
  setESRandomDelay?: number;
  setGradW: number;
  setMaxA?: CurrentRMS;
  setMaxAh?: AmpereHour;
  setMaxChargeRateVA?: ApparentPower;
  setMaxChargeRateW?: ActivePower;
  setMaxDischargeRateVA?: ApparentPower;
  setMaxDischargeRateW?: ActivePower;
  setMaxV?: VoltageRMS;
  setMaxVA?: ApparentPower;
  setMaxVar?: ReactivePower;
  setMaxVarNeg?: ReactivePower;
  setMaxW: ActivePower;
  setMaxWh?: WattHour;
  setMinPFOverExcited?: PowerFactor;
  setMinPFUnderExcited?: PowerFactor;
  setMinV?: VoltageRMS;
  setSoftGradW?: number;
  setVNom?: VoltageRMS;
  setVRef?: VoltageRMS;
  setVRefOfs?: VoltageRMS;
  updatedTime: number;
  /** CSIP-AUS: DOE controls enabled, bitmap. */
  doeModesEnabled?: string;
  /** CSIP-AUS 1.3 only: VPP controls enabled, bitmap. */
  vppModesEnabled?: string;
  /** CSIP-AUS 1.3 only: minimum stored energy. */
  setMinWh?: WattHour;
}

export interface ConnectStatusType {
  dateTime: number;
  value: string;
}

export interface InverterStatusType {
  dateTime: number;
  value: number;
}

export interface LocalControlModeStatusType {
  dateTime: number;
  value: number;
}

export interface ManufacturerStatusType {
  dateTime: number;
  value: string;
}

export interface OperationalModeStatusType {
  dateTime: number;
  value: number;
}

export interface StateOfChargeStatusType {
  dateTime: number;
  value: number;
}

export interface StorageModeStatusType {
  dateTime: number;
  value: number;
}

export interface DERStatus extends SubscribableResource {
  alarmStatus?: string;
  genConnectStatus?: ConnectStatusType;
  inverterStatus?: InverterStatusType;
  localControlModeStatus?: LocalControlModeStatusType;
  manufacturerStatus?: ManufacturerStatusType;
  operationalModeStatus?: OperationalModeStatusType;
  readingTime: number;
  stateOfChargeStatus?: StateOfChargeStatusType;
  storageModeStatus?: StorageModeStatusType;
  storConnectStatus?: ConnectStatusType;
}

export interface DERAvailability extends SubscribableResource {
  availabilityDuration?: number;
  maxChargeDuration?: number;
  readingTime: number;
  reserveChargePercent?: number;
  reservePercent?: number;
  statVarAvail?: ReactivePower;
  statWAvail?: ActivePower;
}

export interface UsagePointBase extends IdentifiedObject {
  roleFlags: string;
  serviceCategoryKind: number;
  status: number;
}

export interface UsagePoint extends UsagePointBase {
  deviceLFDI?: string;
  MeterReadingListLink?: ListLink;
}

export interface UsagePointList extends SubscribableList {
  UsagePoint: UsagePoint[];
  pollRate?: number;
}

export type MeterReadingBase = IdentifiedObject;

export interface ReadingSetBase extends IdentifiedObject {
  timePeriod: DateTimeInterval;
}

export interface ReadingBase extends Resource {
  consumptionBlock?: number;
  qualityFlags?: string;
  timePeriod?: DateTimeInterval;
  touTier?: number;
  value?: number;
}

export interface Reading extends ReadingBase {
  localID?: string;
  subscribable?: number;
}

export interface MirrorReadingSet extends ReadingSetBase {
  Reading?: Reading[];
}

export interface UnitValueType {
  multiplier: number;
  unit: number;
  value: number;
}

export interface ReadingType extends Resource {
  accumulationBehaviour?: number;
  calorificValue?: UnitValueType;
  commodity?: number;
  conversionFactor?: UnitValueType;
  dataQualifier?: number;
  flowDirection?: number;
  intervalLength?: number;
  kind?: number;
  maxNumberOfIntervals?: number;
  numberOfConsumptionBlocks?: number;
  numberOfTouTiers?: number;
  phase?: number;
  powerOfTenMultiplier?: number;
  subIntervalLength?: number;
  supplyLimit?: number;
  tieredConsumptionBlocks?: boolean;
  uom?: number;
}

export interface MirrorMeterReading extends MeterReadingBase {
  lastUpdateTime?: number;
  MirrorReadingSet?: MirrorReadingSet[];
  nextUpdateTime?: number;
  Reading?: Reading;
  ReadingType?: ReadingType;
}

export interface MirrorUsagePoint extends UsagePointBase {
  deviceLFDI: string;
  MirrorMeterReading?: MirrorMeterReading[];
  postRate?: number;
}

export interface MirrorUsagePointList extends List {
  MirrorUsagePoint: MirrorUsagePoint[];
  pollRate?: number;
}

export interface MirrorMeterReadingList extends List {
  MirrorMeterReading: MirrorMeterReading[];
}

export interface MeterReading extends MeterReadingBase {
  RateComponentListLink?: ListLink;
  ReadingLink?: Link;
  ReadingSetListLink?: ListLink;
  ReadingTypeLink: Link;
}

export interface Response extends Resource {
  createdDateTime?: number;
  endDeviceLFDI: string;
  status?: number;
  subject: string;
}

/** What a DER client POSTs to a DERControl `replyTo`; same content as Response. */
export type DERControlResponse = Response;

export interface ResponseList extends List {
  Response: Response[];
}

export interface ResponseSet extends IdentifiedObject {
  ResponseListLink?: ListLink;
}

export interface ResponseSetList extends List {
  ResponseSet: ResponseSet[];
  pollRate?: number;
}

export interface LogEvent extends Resource {
  createdDateTime: number;
  details?: string;
  extendedData?: number;
  functionSet: number;
  logEventCode: number;
  logEventID: number;
  logEventPEN: number;
  profileID: number;
}

export interface LogEventList extends SubscribableList {
  LogEvent: LogEvent[];
  pollRate?: number;
}

export interface SubscriptionBase extends Resource {
  subscribedResource: string;
}

export interface Condition {
  attributeIdentifier: number;
  lowerThreshold: number;
  upperThreshold: number;
}

export interface Subscription extends SubscriptionBase {
  Condition?: Condition;
  encoding: number;
  level: string;
  limit: number;
  notificationURI: string;
}

export interface SubscriptionList extends List {
  Subscription: Subscription[];
  pollRate?: number;
}

export interface Notification extends SubscriptionBase {
  newResourceURI?: string;
  /** The changed resource; `type` is its xsi:type (a resource name), `value` the resource. */
  Resource?: NotificationResource;
  status: number;
  subscriptionURI: string;
}

// Metering read side and pricing.

export interface ReadingList extends SubscribableList {
  Reading: Reading[];
}

export interface ReadingSet extends ReadingSetBase {
  ReadingListLink?: ListLink;
}

export interface ReadingSetList extends SubscribableList {
  ReadingSet: ReadingSet[];
}

export interface MeterReadingList extends SubscribableList {
  MeterReading: MeterReading[];
}

export interface TariffProfile extends IdentifiedObject {
  currency?: number;
  pricePowerOfTenMultiplier?: number;
  primacy: number;
  rateCode?: string;
  RateComponentListLink?: ListLink;
  serviceCategoryKind: number;
  /** CSIP-AUS 1.3 only (required there). */
  CombinedTimeTariffIntervalListLink?: ListLink;
}

export interface TariffProfileList extends SubscribableList {
  TariffProfile: TariffProfile[];
  pollRate?: number;
}

export interface RateComponent extends IdentifiedObject {
  ActiveTimeTariffIntervalListLink?: ListLink;
  flowRateEndLimit?: UnitValueType;
  flowRateStartLimit?: UnitValueType;
  ReadingTypeLink: Link;
  roleFlags: string;
  TimeTariffIntervalListLink: ListLink;
}

export interface RateComponentList extends List {
  RateComponent: RateComponent[];
  /** CSIP-AUS 1.3 only. */
  subscribable?: number;
}

export interface TimeTariffInterval extends RandomizableEvent {
  ConsumptionTariffIntervalListLink?: ListLink;
  touTier: number;
  /** CSIP-AUS 1.3 only (required there). */
  ConsumptionTariffIntervalListSummary?: ConsumptionTariffIntervalList;
  /** CSIP-AUS 1.3 only (required there); a 2030.5-namespace element appended by CSIP-AUS. */
  RateComponentLink?: Link;
}

export interface TimeTariffIntervalList extends SubscribableList {
  TimeTariffInterval: TimeTariffInterval[];
  /** CSIP-AUS 1.3 only. */
  pollRate?: number;
}

export interface EnvironmentalCost {
  amount: number;
  costKind: number;
  costLevel: number;
  numCostLevels: number;
}

export interface ConsumptionTariffInterval extends Resource {
  consumptionBlock: number;
  EnvironmentalCost?: EnvironmentalCost[];
  price?: number;
  startValue: number;
}

export interface ConsumptionTariffIntervalList extends List {
  ConsumptionTariffInterval: ConsumptionTariffInterval[];
}

/** CSIP-AUS ConnectionPoint (root element in the csipaus namespace). */
export interface ConnectionPoint extends Resource {
  /** The identifier of the connection point, typically the NMI (String32). */
  connectionPointId: string;
}

/** Every resource the codec can emit and parse as a document root, mapped to its shape. */
export interface ResourceTypes {
  DeviceCapability: DeviceCapability;
  Time: Time;
  EndDevice: EndDevice;
  EndDeviceList: EndDeviceList;
  Registration: Registration;
  FunctionSetAssignments: FunctionSetAssignments;
  FunctionSetAssignmentsList: FunctionSetAssignmentsList;
  DERProgram: DERProgram;
  DERProgramList: DERProgramList;
  DERControl: DERControl;
  DERControlList: DERControlList;
  DefaultDERControl: DefaultDERControl;
  DERCurve: DERCurve;
  DERCurveList: DERCurveList;
  DER: DER;
  DERList: DERList;
  DERCapability: DERCapability;
  DERSettings: DERSettings;
  DERStatus: DERStatus;
  DERAvailability: DERAvailability;
  UsagePoint: UsagePoint;
  UsagePointList: UsagePointList;
  MirrorUsagePoint: MirrorUsagePoint;
  MirrorUsagePointList: MirrorUsagePointList;
  MirrorMeterReading: MirrorMeterReading;
  MirrorMeterReadingList: MirrorMeterReadingList;
  ReadingType: ReadingType;
  MeterReading: MeterReading;
  Reading: Reading;
  Response: Response;
  DERControlResponse: DERControlResponse;
  ResponseList: ResponseList;
  ResponseSet: ResponseSet;
  ResponseSetList: ResponseSetList;
  LogEvent: LogEvent;
  LogEventList: LogEventList;
  Subscription: Subscription;
  SubscriptionList: SubscriptionList;
  Notification: Notification;
  ReadingList: ReadingList;
  ReadingSet: ReadingSet;
  ReadingSetList: ReadingSetList;
  MeterReadingList: MeterReadingList;
  TariffProfile: TariffProfile;
  TariffProfileList: TariffProfileList;
  RateComponent: RateComponent;
  RateComponentList: RateComponentList;
  TimeTariffInterval: TimeTariffInterval;
  TimeTariffIntervalList: TimeTariffIntervalList;
  ConsumptionTariffInterval: ConsumptionTariffInterval;
  ConsumptionTariffIntervalList: ConsumptionTariffIntervalList;
  ConnectionPoint: ConnectionPoint;
}

export type ResourceName = keyof ResourceTypes;

/** A resource carried inside a Notification, tagged with its type name (xsi:type in XML). */
export type NotificationResource = { [K in ResourceName]: { type: K; value: ResourceTypes[K] } }[ResourceName];

/**
 * A parsed document: which resource it is, the resource, the namespace of its root element ('' when none),
 * and the CSIP-AUS version whose namespace the document declares (if any).
 */
export type SepDocument<N extends ResourceName = ResourceName> = {
  [K in N]: { name: K; value: ResourceTypes[K]; namespace: string; csipaus?: CsipAusVersion };
}[N];

/** CSIP-AUS schema versions: 1.2 uses https://csipaus.org/ns, 1.3 https://csipaus.org/ns/v1.3. */
export type CsipAusVersion = 'v1.2' | 'v1.3';
