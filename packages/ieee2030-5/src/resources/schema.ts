/**
 * Declarative schema tables for the IEEE 2030.5-2018 resources the codec handles (sep.xsd 2.1.0, namespace
 * urn:ieee:std:2030.5:ns) and the CSIP-AUS 1.2/1.3 extensions. Only structural facts are recorded: type names,
 * base types, element order (xs:sequence order matters), simple types, occurrence bounds.
 *
 * Named link types of sep.xsd (EndDeviceListLink, DERCurveLink, ...) are structurally Link or ListLink and are
 * recorded as such. A complex type's own fields follow all of its base type's fields (xs:extension).
 */
import type { CsipAusVersion, ResourceName } from './types.ts';

/** How a simple value is written in XML and held in JS. */
export type SimpleKind = 'int' | 'hex' | 'string' | 'boolean';

export interface SimpleTypeSpec {
  readonly kind: SimpleKind;
  /** Inclusive integer bounds (JS numbers; 64-bit types are limited to the safe-integer range). */
  readonly min?: number;
  readonly max?: number;
  /** Maximum length: characters for strings, bytes for hexBinary. */
  readonly maxLength?: number;
}

const int = (min: number, max: number): SimpleTypeSpec => ({ kind: 'int', min, max });
const hex = (maxLength: number): SimpleTypeSpec => ({ kind: 'hex', maxLength });
const str = (maxLength?: number): SimpleTypeSpec =>
  maxLength === undefined ? { kind: 'string' } : { kind: 'string', maxLength };

const UINT8 = int(0, 255);
const UINT16 = int(0, 65535);
const UINT32 = int(0, 4294967295);
// sep.xsd caps UInt40 and UInt48 at 2^48 - 1.
const UINT48 = int(0, 281474976710655);
const UINT64 = int(0, Number.MAX_SAFE_INTEGER);
const INT8 = int(-128, 127);
const INT16 = int(-32768, 32767);
const INT32 = int(-2147483648, 2147483647);
const INT48 = int(-140737488355328, 140737488355328);
const INT64 = int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

/** Simple types by their sep.xsd name (and CSIP-AUS DOEControlType/VPPControlType). */
export const SIMPLE_TYPES = {
  boolean: { kind: 'boolean' },
  anyURI: str(),
  String6: str(6),
  String16: str(16),
  String20: str(20),
  String32: str(32),
  String192: str(192),
  HexBinary8: hex(1),
  HexBinary16: hex(2),
  HexBinary32: hex(4),
  HexBinary128: hex(16),
  HexBinary160: hex(20),
  UInt8: UINT8,
  UInt16: UINT16,
  UInt32: UINT32,
  UInt40: UINT48,
  UInt48: UINT48,
  UInt64: UINT64,
  Int8: INT8,
  Int16: INT16,
  Int32: INT32,
  Int48: INT48,
  Int64: INT64,
  // Named restrictions of the types above.
  AccumulationBehaviourType: UINT8,
  CommodityType: UINT8,
  CostKindType: UINT8,
  CurrencyCode: UINT16,
  ConsumptionBlockType: UINT8,
  DataQualifierType: UINT8,
  DERControlType: hex(4),
  DERCurveType: UINT8,
  DERType: UINT8,
  DERUnitRefType: UINT8,
  DeviceCategoryType: hex(4),
  FlowDirectionType: UINT8,
  KindType: UINT8,
  mRIDType: hex(16),
  OneHourRangeType: INT16,
  PENType: UINT32,
  PerCent: UINT16,
  PhaseCode: UINT8,
  PINType: UINT32,
  PowerOfTenMultiplierType: INT8,
  PrimacyType: UINT8,
  RoleFlagsType: hex(2),
  ServiceKind: UINT8,
  SFDIType: UINT48,
  SignedPerCent: INT16,
  SubscribableType: UINT8,
  TimeOffsetType: INT32,
  TimeType: INT64,
  TOUType: UINT8,
  UomType: UINT8,
  VersionType: UINT16,
  // CSIP-AUS
  DOEControlType: hex(1),
  VPPControlType: hex(1),
} as const satisfies Record<string, SimpleTypeSpec>;

export type SimpleTypeName = keyof typeof SIMPLE_TYPES;

/** Which namespace an element belongs to: 2030.5 or the CSIP-AUS extension namespace. */
export type FieldNamespace = 'sep' | 'csipaus';

export interface FieldSpec {
  readonly name: string;
  readonly kind: 'attr' | 'element';
  /** A SimpleTypeName, a ComplexTypeName, or 'AnyResource' (Notification.Resource: typed by xsi:type). */
  readonly type: string;
  readonly minOccurs: number;
  /** Infinity for unbounded. */
  readonly maxOccurs: number;
  readonly ns: FieldNamespace;
  /** For CSIP-AUS elements: the first CSIP-AUS version that defines them. */
  readonly since?: CsipAusVersion;
}

export interface ComplexTypeSpec {
  readonly base: string | undefined;
  readonly fields: readonly FieldSpec[];
}

const UNBOUNDED = Number.POSITIVE_INFINITY;

function attr(name: string, type: SimpleTypeName, required = false): FieldSpec {
  return { name, kind: 'attr', type, minOccurs: required ? 1 : 0, maxOccurs: 1, ns: 'sep' };
}

function el(name: string, type: string, minOccurs = 1, maxOccurs = 1): FieldSpec {
  return { name, kind: 'element', type, minOccurs, maxOccurs, ns: 'sep' };
}

function ext(name: string, type: string, since: CsipAusVersion, minOccurs = 0): FieldSpec {
  return { name, kind: 'element', type, minOccurs, maxOccurs: 1, ns: 'csipaus', since };
}

function type(base: string | undefined, fields: readonly FieldSpec[]): ComplexTypeSpec {
  return { base, fields };
}

/** 2030.5 complex types, in dependency order. */
export const COMPLEX_TYPES: Readonly<Record<string, ComplexTypeSpec>> = {
  Link: type(undefined, [attr('href', 'anyURI', true)]),
  ListLink: type('Link', [attr('all', 'UInt32')]),
  Resource: type(undefined, [attr('href', 'anyURI')]),
  FunctionSetAssignmentsBase: type('Resource', [
    el('CustomerAccountListLink', 'ListLink', 0),
    el('DemandResponseProgramListLink', 'ListLink', 0),
    el('DERProgramListLink', 'ListLink', 0),
    el('FileListLink', 'ListLink', 0),
    el('MessagingProgramListLink', 'ListLink', 0),
    el('PrepaymentListLink', 'ListLink', 0),
    el('ResponseSetListLink', 'ListLink', 0),
    el('TariffProfileListLink', 'ListLink', 0),
    el('TimeLink', 'Link', 0),
    el('UsagePointListLink', 'ListLink', 0),
  ]),
  DeviceCapability: type('FunctionSetAssignmentsBase', [
    el('EndDeviceListLink', 'ListLink', 0),
    el('MirrorUsagePointListLink', 'ListLink', 0),
    el('SelfDeviceLink', 'Link', 0),
    attr('pollRate', 'UInt32'),
  ]),
  Time: type('Resource', [
    el('currentTime', 'TimeType'),
    el('dstEndTime', 'TimeType'),
    el('dstOffset', 'TimeOffsetType'),
    el('dstStartTime', 'TimeType'),
    el('localTime', 'TimeType', 0),
    el('quality', 'UInt8'),
    el('tzOffset', 'TimeOffsetType'),
    attr('pollRate', 'UInt32'),
  ]),
  SubscribableResource: type('Resource', [attr('subscribable', 'SubscribableType')]),
  AbstractDevice: type('SubscribableResource', [
    el('ConfigurationLink', 'Link', 0),
    el('DERListLink', 'ListLink', 0),
    el('deviceCategory', 'DeviceCategoryType', 0),
    el('DeviceInformationLink', 'Link', 0),
    el('DeviceStatusLink', 'Link', 0),
    el('FileStatusLink', 'Link', 0),
    el('IPInterfaceListLink', 'ListLink', 0),
    el('lFDI', 'HexBinary160', 0),
    el('LoadShedAvailabilityListLink', 'ListLink', 0),
    el('LogEventListLink', 'ListLink', 0),
    el('PowerStatusLink', 'Link', 0),
    el('sFDI', 'SFDIType'),
  ]),
  EndDevice: type('AbstractDevice', [
    el('changedTime', 'TimeType'),
    el('enabled', 'boolean', 0),
    el('FlowReservationRequestListLink', 'ListLink', 0),
    el('FlowReservationResponseListLink', 'ListLink', 0),
    el('FunctionSetAssignmentsListLink', 'ListLink', 0),
    el('postRate', 'UInt32', 0),
    el('RegistrationLink', 'Link', 0),
    el('SubscriptionListLink', 'ListLink', 0),
  ]),
  SubscribableList: type('SubscribableResource', [attr('all', 'UInt32', true), attr('results', 'UInt32', true)]),
  EndDeviceList: type('SubscribableList', [el('EndDevice', 'EndDevice', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  Registration: type('Resource', [
    el('dateTimeRegistered', 'TimeType'),
    el('pIN', 'PINType'),
    attr('pollRate', 'UInt32'),
  ]),
  FunctionSetAssignments: type('FunctionSetAssignmentsBase', [
    el('mRID', 'mRIDType'),
    el('description', 'String32', 0),
    el('version', 'VersionType', 0),
    attr('subscribable', 'SubscribableType'),
  ]),
  FunctionSetAssignmentsList: type('SubscribableList', [
    el('FunctionSetAssignments', 'FunctionSetAssignments', 0, UNBOUNDED),
    attr('pollRate', 'UInt32'),
  ]),
  SubscribableIdentifiedObject: type('SubscribableResource', [
    el('mRID', 'mRIDType'),
    el('description', 'String32', 0),
    el('version', 'VersionType', 0),
  ]),
  DERProgram: type('SubscribableIdentifiedObject', [
    el('ActiveDERControlListLink', 'ListLink', 0),
    el('DefaultDERControlLink', 'Link', 0),
    el('DERControlListLink', 'ListLink', 0),
    el('DERCurveListLink', 'ListLink', 0),
    el('primacy', 'PrimacyType'),
  ]),
  DERProgramList: type('SubscribableList', [el('DERProgram', 'DERProgram', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  RespondableResource: type('Resource', [attr('replyTo', 'anyURI'), attr('responseRequired', 'HexBinary8')]),
  RespondableSubscribableIdentifiedObject: type('RespondableResource', [
    el('mRID', 'mRIDType'),
    el('description', 'String32', 0),
    el('version', 'VersionType', 0),
    attr('subscribable', 'SubscribableType'),
  ]),
  EventStatus: type(undefined, [
    el('currentStatus', 'UInt8'),
    el('dateTime', 'TimeType'),
    el('potentiallySuperseded', 'boolean'),
    el('potentiallySupersededTime', 'TimeType', 0),
    el('reason', 'String192', 0),
  ]),
  DateTimeInterval: type(undefined, [el('duration', 'UInt32'), el('start', 'TimeType')]),
  Event: type('RespondableSubscribableIdentifiedObject', [
    el('creationTime', 'TimeType'),
    el('EventStatus', 'EventStatus'),
    el('interval', 'DateTimeInterval'),
  ]),
  RandomizableEvent: type('Event', [
    el('randomizeDuration', 'OneHourRangeType', 0),
    el('randomizeStart', 'OneHourRangeType', 0),
  ]),
  PowerFactorWithExcitation: type(undefined, [
    el('displacement', 'UInt16'),
    el('excitation', 'boolean'),
    el('multiplier', 'PowerOfTenMultiplierType'),
  ]),
  FixedVar: type(undefined, [el('refType', 'DERUnitRefType'), el('value', 'SignedPerCent')]),
  FreqDroopType: type(undefined, [
    el('dBOF', 'UInt32'),
    el('dBUF', 'UInt32'),
    el('kOF', 'UInt16'),
    el('kUF', 'UInt16'),
    el('openLoopTms', 'UInt16'),
  ]),
  ReactivePower: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'Int16')]),
  ActivePower: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'Int16')]),
  DERControlBase: type(undefined, [
    el('opModConnect', 'boolean', 0),
    el('opModEnergize', 'boolean', 0),
    el('opModFixedPFAbsorbW', 'PowerFactorWithExcitation', 0),
    el('opModFixedPFInjectW', 'PowerFactorWithExcitation', 0),
    el('opModFixedVar', 'FixedVar', 0),
    el('opModFixedW', 'SignedPerCent', 0),
    el('opModFreqDroop', 'FreqDroopType', 0),
    el('opModFreqWatt', 'Link', 0),
    el('opModHFRTMayTrip', 'Link', 0),
    el('opModHFRTMustTrip', 'Link', 0),
    el('opModHVRTMayTrip', 'Link', 0),
    el('opModHVRTMomentaryCessation', 'Link', 0),
    el('opModHVRTMustTrip', 'Link', 0),
    el('opModLFRTMayTrip', 'Link', 0),
    el('opModLFRTMustTrip', 'Link', 0),
    el('opModLVRTMayTrip', 'Link', 0),
    el('opModLVRTMomentaryCessation', 'Link', 0),
    el('opModLVRTMustTrip', 'Link', 0),
    el('opModMaxLimW', 'PerCent', 0),
    el('opModTargetVar', 'ReactivePower', 0),
    el('opModTargetW', 'ActivePower', 0),
    el('opModVoltVar', 'Link', 0),
    el('opModVoltWatt', 'Link', 0),
    el('opModWattPF', 'Link', 0),
    el('opModWattVar', 'Link', 0),
    el('rampTms', 'UInt16', 0),
  ]),
  DERControl: type('RandomizableEvent', [
    el('DERControlBase', 'DERControlBase'),
    el('deviceCategory', 'DeviceCategoryType', 0),
  ]),
  DERControlList: type('SubscribableList', [el('DERControl', 'DERControl', 0, UNBOUNDED)]),
  DefaultDERControl: type('SubscribableIdentifiedObject', [
    el('DERControlBase', 'DERControlBase'),
    el('setESDelay', 'UInt32', 0),
    el('setESHighFreq', 'UInt16', 0),
    el('setESHighVolt', 'Int16', 0),
    el('setESLowFreq', 'UInt16', 0),
    el('setESLowVolt', 'Int16', 0),
    el('setESRampTms', 'UInt32', 0),
    el('setESRandomDelay', 'UInt32', 0),
    el('setGradW', 'UInt16', 0),
    el('setSoftGradW', 'UInt16', 0),
  ]),
  IdentifiedObject: type('Resource', [
    el('mRID', 'mRIDType'),
    el('description', 'String32', 0),
    el('version', 'VersionType', 0),
  ]),
  CurveData: type(undefined, [el('excitation', 'boolean', 0), el('xvalue', 'Int32'), el('yvalue', 'Int32')]),
  DERCurve: type('IdentifiedObject', [
    el('autonomousVRefEnable', 'boolean', 0),
    el('autonomousVRefTimeConstant', 'UInt32', 0),
    el('creationTime', 'TimeType'),
    el('CurveData', 'CurveData', 1, 10),
    el('curveType', 'DERCurveType'),
    el('openLoopTms', 'UInt16', 0),
    el('rampDecTms', 'UInt16', 0),
    el('rampIncTms', 'UInt16', 0),
    el('rampPT1Tms', 'UInt16', 0),
    el('vRef', 'PerCent', 0),
    el('xMultiplier', 'PowerOfTenMultiplierType'),
    el('yMultiplier', 'PowerOfTenMultiplierType'),
    el('yRefType', 'DERUnitRefType'),
  ]),
  List: type('Resource', [attr('all', 'UInt32', true), attr('results', 'UInt32', true)]),
  DERCurveList: type('List', [el('DERCurve', 'DERCurve', 0, UNBOUNDED)]),
  DER: type('SubscribableResource', [
    el('AssociatedDERProgramListLink', 'ListLink', 0),
    el('AssociatedUsagePointLink', 'Link', 0),
    el('CurrentDERProgramLink', 'Link', 0),
    el('DERAvailabilityLink', 'Link', 0),
    el('DERCapabilityLink', 'Link', 0),
    el('DERSettingsLink', 'Link', 0),
    el('DERStatusLink', 'Link', 0),
  ]),
  DERList: type('List', [el('DER', 'DER', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  CurrentRMS: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'UInt16')]),
  AmpereHour: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'UInt16')]),
  ApparentPower: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'UInt16')]),
  VoltageRMS: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'UInt16')]),
  WattHour: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'UInt16')]),
  PowerFactor: type(undefined, [el('displacement', 'UInt16'), el('multiplier', 'PowerOfTenMultiplierType')]),
  ReactiveSusceptance: type(undefined, [el('multiplier', 'PowerOfTenMultiplierType'), el('value', 'UInt16')]),
  DERCapability: type('Resource', [
    el('modesSupported', 'DERControlType'),
    el('rtgAbnormalCategory', 'UInt8', 0),
    el('rtgMaxA', 'CurrentRMS', 0),
    el('rtgMaxAh', 'AmpereHour', 0),
    el('rtgMaxChargeRateVA', 'ApparentPower', 0),
    el('rtgMaxChargeRateW', 'ActivePower', 0),
    el('rtgMaxDischargeRateVA', 'ApparentPower', 0),
    el('rtgMaxDischargeRateW', 'ActivePower', 0),
    el('rtgMaxV', 'VoltageRMS', 0),
    el('rtgMaxVA', 'ApparentPower', 0),
    el('rtgMaxVar', 'ReactivePower', 0),
    el('rtgMaxVarNeg', 'ReactivePower', 0),
    el('rtgMaxW', 'ActivePower'),
    el('rtgMaxWh', 'WattHour', 0),
    el('rtgMinPFOverExcited', 'PowerFactor', 0),
    el('rtgMinPFUnderExcited', 'PowerFactor', 0),
    el('rtgMinV', 'VoltageRMS', 0),
    el('rtgNormalCategory', 'UInt8', 0),
    el('rtgOverExcitedPF', 'PowerFactor', 0),
    el('rtgOverExcitedW', 'ActivePower', 0),
    el('rtgReactiveSusceptance', 'ReactiveSusceptance', 0),
    el('rtgUnderExcitedPF', 'PowerFactor', 0),
    el('rtgUnderExcitedW', 'ActivePower', 0),
    el('rtgVNom', 'VoltageRMS', 0),
    el('type', 'DERType'),
  ]),
  DERSettings: type('SubscribableResource', [
    el('modesEnabled', 'DERControlType', 0),
    el('setESDelay', 'UInt32', 0),
    el('setESHighFreq', 'UInt16', 0),
    el('setESHighVolt', 'Int16', 0),
    el('setESLowFreq', 'UInt16', 0),
    el('setESLowVolt', 'Int16', 0),
    el('setESRampTms', 'UInt32', 0),
    el('setESRandomDelay', 'UInt32', 0),
    el('setGradW', 'UInt16'),
    el('setMaxA', 'CurrentRMS', 0),
    el('setMaxAh', 'AmpereHour', 0),
    el('setMaxChargeRateVA', 'ApparentPower', 0),
    el('setMaxChargeRateW', 'ActivePower', 0),
    el('setMaxDischargeRateVA', 'ApparentPower', 0),
    el('setMaxDischargeRateW', 'ActivePower', 0),
    el('setMaxV', 'VoltageRMS', 0),
    el('setMaxVA', 'ApparentPower', 0),
    el('setMaxVar', 'ReactivePower', 0),
    el('setMaxVarNeg', 'ReactivePower', 0),
    el('setMaxW', 'ActivePower'),
    el('setMaxWh', 'WattHour', 0),
    el('setMinPFOverExcited', 'PowerFactor', 0),
    el('setMinPFUnderExcited', 'PowerFactor', 0),
    el('setMinV', 'VoltageRMS', 0),
    el('setSoftGradW', 'UInt16', 0),
    el('setVNom', 'VoltageRMS', 0),
    el('setVRef', 'VoltageRMS', 0),
    el('setVRefOfs', 'VoltageRMS', 0),
    el('updatedTime', 'TimeType'),
  ]),
  ConnectStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'HexBinary8')]),
  InverterStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'UInt8')]),
  LocalControlModeStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'UInt8')]),
  ManufacturerStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'String6')]),
  OperationalModeStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'UInt8')]),
  StateOfChargeStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'PerCent')]),
  StorageModeStatusType: type(undefined, [el('dateTime', 'TimeType'), el('value', 'UInt8')]),
  DERStatus: type('SubscribableResource', [
    el('alarmStatus', 'HexBinary32', 0),
    el('genConnectStatus', 'ConnectStatusType', 0),
    el('inverterStatus', 'InverterStatusType', 0),
    el('localControlModeStatus', 'LocalControlModeStatusType', 0),
    el('manufacturerStatus', 'ManufacturerStatusType', 0),
    el('operationalModeStatus', 'OperationalModeStatusType', 0),
    el('readingTime', 'TimeType'),
    el('stateOfChargeStatus', 'StateOfChargeStatusType', 0),
    el('storageModeStatus', 'StorageModeStatusType', 0),
    el('storConnectStatus', 'ConnectStatusType', 0),
  ]),
  DERAvailability: type('SubscribableResource', [
    el('availabilityDuration', 'UInt32', 0),
    el('maxChargeDuration', 'UInt32', 0),
    el('readingTime', 'TimeType'),
    el('reserveChargePercent', 'PerCent', 0),
    el('reservePercent', 'PerCent', 0),
    el('statVarAvail', 'ReactivePower', 0),
    el('statWAvail', 'ActivePower', 0),
  ]),
  UsagePointBase: type('IdentifiedObject', [
    el('roleFlags', 'RoleFlagsType'),
    el('serviceCategoryKind', 'ServiceKind'),
    el('status', 'UInt8'),
  ]),
  UsagePoint: type('UsagePointBase', [el('deviceLFDI', 'HexBinary160', 0), el('MeterReadingListLink', 'ListLink', 0)]),
  UsagePointList: type('SubscribableList', [el('UsagePoint', 'UsagePoint', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  MeterReadingBase: type('IdentifiedObject', []),
  ReadingSetBase: type('IdentifiedObject', [el('timePeriod', 'DateTimeInterval')]),
  ReadingBase: type('Resource', [
    el('consumptionBlock', 'ConsumptionBlockType', 0),
    el('qualityFlags', 'HexBinary16', 0),
    el('timePeriod', 'DateTimeInterval', 0),
    el('touTier', 'TOUType', 0),
    el('value', 'Int48', 0),
  ]),
  Reading: type('ReadingBase', [el('localID', 'HexBinary16', 0), attr('subscribable', 'SubscribableType')]),
  MirrorReadingSet: type('ReadingSetBase', [el('Reading', 'Reading', 0, UNBOUNDED)]),
  UnitValueType: type(undefined, [
    el('multiplier', 'PowerOfTenMultiplierType'),
    el('unit', 'UomType'),
    el('value', 'Int32'),
  ]),
  ReadingType: type('Resource', [
    el('accumulationBehaviour', 'AccumulationBehaviourType', 0),
    el('calorificValue', 'UnitValueType', 0),
    el('commodity', 'CommodityType', 0),
    el('conversionFactor', 'UnitValueType', 0),
    el('dataQualifier', 'DataQualifierType', 0),
    el('flowDirection', 'FlowDirectionType', 0),
    el('intervalLength', 'UInt32', 0),
    el('kind', 'KindType', 0),
    el('maxNumberOfIntervals', 'UInt8', 0),
    el('numberOfConsumptionBlocks', 'UInt8', 0),
    el('numberOfTouTiers', 'UInt8', 0),
    el('phase', 'PhaseCode', 0),
    el('powerOfTenMultiplier', 'PowerOfTenMultiplierType', 0),
    el('subIntervalLength', 'UInt32', 0),
    el('supplyLimit', 'UInt48', 0),
    el('tieredConsumptionBlocks', 'boolean', 0),
    el('uom', 'UomType', 0),
  ]),
  MirrorMeterReading: type('MeterReadingBase', [
    el('lastUpdateTime', 'TimeType', 0),
    el('MirrorReadingSet', 'MirrorReadingSet', 0, UNBOUNDED),
    el('nextUpdateTime', 'TimeType', 0),
    el('Reading', 'Reading', 0),
    el('ReadingType', 'ReadingType', 0),
  ]),
  MirrorUsagePoint: type('UsagePointBase', [
    el('deviceLFDI', 'HexBinary160'),
    el('MirrorMeterReading', 'MirrorMeterReading', 0, UNBOUNDED),
    el('postRate', 'UInt32', 0),
  ]),
  MirrorUsagePointList: type('List', [
    el('MirrorUsagePoint', 'MirrorUsagePoint', 0, UNBOUNDED),
    attr('pollRate', 'UInt32'),
  ]),
  MirrorMeterReadingList: type('List', [el('MirrorMeterReading', 'MirrorMeterReading', 0, UNBOUNDED)]),
  MeterReading: type('MeterReadingBase', [
    el('RateComponentListLink', 'ListLink', 0),
    el('ReadingLink', 'Link', 0),
    el('ReadingSetListLink', 'ListLink', 0),
    el('ReadingTypeLink', 'Link'),
  ]),
  Response: type('Resource', [
    el('createdDateTime', 'TimeType', 0),
    el('endDeviceLFDI', 'HexBinary160'),
    el('status', 'UInt8', 0),
    el('subject', 'mRIDType'),
  ]),
  DERControlResponse: type('Response', []),
  ResponseList: type('List', [el('Response', 'Response', 0, UNBOUNDED)]),
  ResponseSet: type('IdentifiedObject', [el('ResponseListLink', 'ListLink', 0)]),
  ResponseSetList: type('List', [el('ResponseSet', 'ResponseSet', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  LogEvent: type('Resource', [
    el('createdDateTime', 'TimeType'),
    el('details', 'String32', 0),
    el('extendedData', 'UInt32', 0),
    el('functionSet', 'UInt8'),
    el('logEventCode', 'UInt8'),
    el('logEventID', 'UInt16'),
    el('logEventPEN', 'PENType'),
    el('profileID', 'UInt8'),
  ]),
  LogEventList: type('SubscribableList', [el('LogEvent', 'LogEvent', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  SubscriptionBase: type('Resource', [el('subscribedResource', 'anyURI')]),
  Condition: type(undefined, [
    el('attributeIdentifier', 'UInt8'),
    el('lowerThreshold', 'Int48'),
    el('upperThreshold', 'Int48'),
  ]),
  Subscription: type('SubscriptionBase', [
    el('Condition', 'Condition', 0),
    el('encoding', 'UInt8'),
    el('level', 'String16'),
    el('limit', 'UInt32'),
    el('notificationURI', 'anyURI'),
  ]),
  SubscriptionList: type('List', [el('Subscription', 'Subscription', 0, UNBOUNDED), attr('pollRate', 'UInt32')]),
  Notification: type('SubscriptionBase', [
    el('newResourceURI', 'anyURI', 0),
    el('Resource', 'AnyResource', 0),
    el('status', 'UInt8'),
    el('subscriptionURI', 'anyURI'),
  ]),
  // Metering read side and pricing.
  ReadingList: type('SubscribableList', [el('Reading', 'Reading', 0, UNBOUNDED)]),
  ReadingSet: type('ReadingSetBase', [el('ReadingListLink', 'ListLink', 0)]),
  ReadingSetList: type('SubscribableList', [el('ReadingSet', 'ReadingSet', 0, UNBOUNDED)]),
  MeterReadingList: type('SubscribableList', [el('MeterReading', 'MeterReading', 0, UNBOUNDED)]),
  TariffProfile: type('IdentifiedObject', [
    el('currency', 'CurrencyCode', 0),
    el('pricePowerOfTenMultiplier', 'PowerOfTenMultiplierType', 0),
    el('primacy', 'PrimacyType'),
    el('rateCode', 'String20', 0),
    el('RateComponentListLink', 'ListLink', 0),
    el('serviceCategoryKind', 'ServiceKind'),
  ]),
  TariffProfileList: type('SubscribableList', [
    el('TariffProfile', 'TariffProfile', 0, UNBOUNDED),
    attr('pollRate', 'UInt32'),
  ]),
  RateComponent: type('IdentifiedObject', [
    el('ActiveTimeTariffIntervalListLink', 'ListLink', 0),
    el('flowRateEndLimit', 'UnitValueType', 0),
    el('flowRateStartLimit', 'UnitValueType', 0),
    el('ReadingTypeLink', 'Link'),
    el('roleFlags', 'RoleFlagsType'),
    el('TimeTariffIntervalListLink', 'ListLink'),
  ]),
  RateComponentList: type('List', [el('RateComponent', 'RateComponent', 0, UNBOUNDED)]),
  TimeTariffInterval: type('RandomizableEvent', [
    el('ConsumptionTariffIntervalListLink', 'ListLink', 0),
    el('touTier', 'TOUType'),
  ]),
  TimeTariffIntervalList: type('SubscribableList', [el('TimeTariffInterval', 'TimeTariffInterval', 0, UNBOUNDED)]),
  EnvironmentalCost: type(undefined, [
    el('amount', 'UInt32'),
    el('costKind', 'CostKindType'),
    el('costLevel', 'UInt8'),
    el('numCostLevels', 'UInt8'),
  ]),
  ConsumptionTariffInterval: type('Resource', [
    el('consumptionBlock', 'ConsumptionBlockType'),
    el('EnvironmentalCost', 'EnvironmentalCost', 0, UNBOUNDED),
    el('price', 'Int32', 0),
    el('startValue', 'UInt48'),
  ]),
  ConsumptionTariffIntervalList: type('List', [
    el('ConsumptionTariffInterval', 'ConsumptionTariffInterval', 0, UNBOUNDED),
  ]),
  // CSIP-AUS ConnectionPointType (csipaus-ext): its element is in the csipaus namespace.
  ConnectionPoint: type('Resource', [{ ...el('connectionPointId', 'String32'), ns: 'csipaus' }]),
};

/**
 * CSIP-AUS extensions. minOccurs is what the CSIP-AUS schema says; the codec still treats every extension
 * element as optional so the same resource can be written as plain 2030.5.
 * csipaus-core redefines these 2030.5 types with xs:redefine, which appends the elements
 * after the whole base sequence (after every 2030.5 element, inherited ones included), in this order.
 * A CSIP-AUS 1.2 document carries only the 'v1.2' entries.
 */
export const CSIPAUS_EXTENSIONS: Readonly<Record<string, readonly FieldSpec[]>> = {
  DERControlBase: [
    ext('opModImpLimW', 'ActivePower', 'v1.2'),
    ext('opModExpLimW', 'ActivePower', 'v1.2'),
    ext('opModGenLimW', 'ActivePower', 'v1.2'),
    ext('opModLoadLimW', 'ActivePower', 'v1.2'),
    ext('opModStorageTargetW', 'ActivePower', 'v1.3'),
  ],
  DERSettings: [
    ext('doeModesEnabled', 'DOEControlType', 'v1.2'),
    ext('vppModesEnabled', 'VPPControlType', 'v1.3'),
    ext('setMinWh', 'WattHour', 'v1.3'),
  ],
  DERCapability: [
    ext('doeModesSupported', 'DOEControlType', 'v1.2', 1),
    ext('vppModesSupported', 'VPPControlType', 'v1.3'),
  ],
  EndDevice: [ext('ConnectionPointLink', 'Link', 'v1.2')],
  // CSIP-AUS 1.3 pricing.
  TariffProfile: [ext('CombinedTimeTariffIntervalListLink', 'ListLink', 'v1.3', 1)],
  TimeTariffInterval: [
    ext('ConsumptionTariffIntervalListSummary', 'ConsumptionTariffIntervalList', 'v1.3', 1),
    // A 2030.5-namespace element that CSIP-AUS 1.3 appends.
    { ...ext('RateComponentLink', 'Link', 'v1.3', 1), ns: 'sep' },
  ],
  TimeTariffIntervalList: [{ ...attr('pollRate', 'UInt32'), since: 'v1.3' }],
  RateComponentList: [{ ...attr('subscribable', 'SubscribableType'), since: 'v1.3' }],
};

/**
 * Element names of the pre-publication 2.0.4 schema (namespace http://ieee.org/2030.5, still sent by
 * EPRI-based clients) that were renamed in 2030.5-2018. Applied only to documents in that namespace.
 */
export const LEGACY_ELEMENT_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  DERCapability: {
    rtgA: 'rtgMaxA',
    rtgAh: 'rtgMaxAh',
    rtgVA: 'rtgMaxVA',
    rtgVar: 'rtgMaxVar',
    rtgVarNeg: 'rtgMaxVarNeg',
    rtgW: 'rtgMaxW',
    rtgWh: 'rtgMaxWh',
  },
};

/**
 * The complex type of each document root element, the namespace the root element is in, and (when it differs
 * from the element name) the XSD type name that xsi:type uses for it.
 */
export const ROOT_ELEMENTS: Readonly<
  Record<ResourceName, { readonly type: string; readonly ns: FieldNamespace; readonly xsdTypeName?: string }>
> = {
  DeviceCapability: { type: 'DeviceCapability', ns: 'sep' },
  Time: { type: 'Time', ns: 'sep' },
  EndDevice: { type: 'EndDevice', ns: 'sep' },
  EndDeviceList: { type: 'EndDeviceList', ns: 'sep' },
  Registration: { type: 'Registration', ns: 'sep' },
  FunctionSetAssignments: { type: 'FunctionSetAssignments', ns: 'sep' },
  FunctionSetAssignmentsList: { type: 'FunctionSetAssignmentsList', ns: 'sep' },
  DERProgram: { type: 'DERProgram', ns: 'sep' },
  DERProgramList: { type: 'DERProgramList', ns: 'sep' },
  DERControl: { type: 'DERControl', ns: 'sep' },
  DERControlList: { type: 'DERControlList', ns: 'sep' },
  DefaultDERControl: { type: 'DefaultDERControl', ns: 'sep' },
  DERCurve: { type: 'DERCurve', ns: 'sep' },
  DERCurveList: { type: 'DERCurveList', ns: 'sep' },
  DER: { type: 'DER', ns: 'sep' },
  DERList: { type: 'DERList', ns: 'sep' },
  DERCapability: { type: 'DERCapability', ns: 'sep' },
  DERSettings: { type: 'DERSettings', ns: 'sep' },
  DERStatus: { type: 'DERStatus', ns: 'sep' },
  DERAvailability: { type: 'DERAvailability', ns: 'sep' },
  UsagePoint: { type: 'UsagePoint', ns: 'sep' },
  UsagePointList: { type: 'UsagePointList', ns: 'sep' },
  MirrorUsagePoint: { type: 'MirrorUsagePoint', ns: 'sep' },
  MirrorUsagePointList: { type: 'MirrorUsagePointList', ns: 'sep' },
  MirrorMeterReading: { type: 'MirrorMeterReading', ns: 'sep' },
  MirrorMeterReadingList: { type: 'MirrorMeterReadingList', ns: 'sep' },
  ReadingType: { type: 'ReadingType', ns: 'sep' },
  MeterReading: { type: 'MeterReading', ns: 'sep' },
  Reading: { type: 'Reading', ns: 'sep' },
  Response: { type: 'Response', ns: 'sep' },
  DERControlResponse: { type: 'DERControlResponse', ns: 'sep' },
  ResponseList: { type: 'ResponseList', ns: 'sep' },
  ResponseSet: { type: 'ResponseSet', ns: 'sep' },
  ResponseSetList: { type: 'ResponseSetList', ns: 'sep' },
  LogEvent: { type: 'LogEvent', ns: 'sep' },
  LogEventList: { type: 'LogEventList', ns: 'sep' },
  Subscription: { type: 'Subscription', ns: 'sep' },
  SubscriptionList: { type: 'SubscriptionList', ns: 'sep' },
  Notification: { type: 'Notification', ns: 'sep' },
  ReadingList: { type: 'ReadingList', ns: 'sep' },
  ReadingSet: { type: 'ReadingSet', ns: 'sep' },
  ReadingSetList: { type: 'ReadingSetList', ns: 'sep' },
  MeterReadingList: { type: 'MeterReadingList', ns: 'sep' },
  TariffProfile: { type: 'TariffProfile', ns: 'sep' },
  TariffProfileList: { type: 'TariffProfileList', ns: 'sep' },
  RateComponent: { type: 'RateComponent', ns: 'sep' },
  RateComponentList: { type: 'RateComponentList', ns: 'sep' },
  TimeTariffInterval: { type: 'TimeTariffInterval', ns: 'sep' },
  TimeTariffIntervalList: { type: 'TimeTariffIntervalList', ns: 'sep' },
  ConsumptionTariffInterval: { type: 'ConsumptionTariffInterval', ns: 'sep' },
  ConsumptionTariffIntervalList: { type: 'ConsumptionTariffIntervalList', ns: 'sep' },
  ConnectionPoint: { type: 'ConnectionPoint', ns: 'csipaus', xsdTypeName: 'ConnectionPointType' },
};

/** Namespace URIs. */
export const SEP_NAMESPACE = 'urn:ieee:std:2030.5:ns';
/** Pre-publication 2.0.4 namespace still sent by EPRI-based clients; accepted when parsing. */
export const SEP_LEGACY_NAMESPACE = 'http://ieee.org/2030.5';
export const CSIPAUS_NAMESPACES: Readonly<Record<CsipAusVersion, string>> = {
  'v1.2': 'https://csipaus.org/ns',
  'v1.3': 'https://csipaus.org/ns/v1.3',
};
export const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';
