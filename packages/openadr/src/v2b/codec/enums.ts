/** The enumerations of the 2.0b schemas (values from oadr_20b.xsd, oadr_ei_20b.xsd, oadr_siscale_20b.xsd). */
import type {
  DataQuality,
  EventStatus,
  OadrProfileName,
  OadrServiceName,
  OadrTransportName,
  OptReason,
  OptType,
  ReadingType,
  ReportName,
  ReportType,
  ResponseRequired,
  SignalName,
  SignalType,
  SiScaleCode,
} from './types.ts';
import { enumeration } from './values.ts';

export const EVENT_STATUS = enumeration<EventStatus>('eventStatus', [
  'none',
  'far',
  'near',
  'active',
  'completed',
  'cancelled',
]);
export const OPT_TYPE = enumeration<OptType>('optType', ['optIn', 'optOut']);
/** oadr:ResponseRequiredType restricts xs:string, so no whitespace collapsing applies in XSD; we collapse anyway. */
export const RESPONSE_REQUIRED = enumeration<ResponseRequired>('oadrResponseRequired', ['always', 'never']);
export const PROFILE_NAME = enumeration<OadrProfileName>('oadrProfileName', ['2.0a', '2.0b']);
export const TRANSPORT_NAME = enumeration<OadrTransportName>('oadrTransportName', ['simpleHttp', 'xmpp']);
export const SERVICE_NAME = enumeration<OadrServiceName>('oadrServiceName', [
  'EiEvent',
  'EiOpt',
  'EiReport',
  'EiRegisterParty',
  'OadrPoll',
]);

export const SIGNAL_TYPE = enumeration<SignalType>('signalType', [
  'delta',
  'level',
  'multiplier',
  'price',
  'priceMultiplier',
  'priceRelative',
  'setpoint',
  'x-loadControlCapacity',
  'x-loadControlLevelOffset',
  'x-loadControlPercentOffset',
  'x-loadControlSetpoint',
]);

export const SIGNAL_NAME = enumeration<SignalName>(
  'signalName',
  [
    'SIMPLE',
    'simple',
    'ELECTRICITY_PRICE',
    'ENERGY_PRICE',
    'DEMAND_CHARGE',
    'BID_PRICE',
    'BID_LOAD',
    'BID_ENERGY',
    'CHARGE_STATE',
    'LOAD_DISPATCH',
    'LOAD_CONTROL',
  ],
  true,
);

export const OPT_REASON = enumeration<OptReason>(
  'optReason',
  [
    'economic',
    'emergency',
    'mustRun',
    'notParticipating',
    'outageRunStatus',
    'overrideStatus',
    'participating',
    'x-schedule',
  ],
  true,
);

export const REPORT_NAME = enumeration<ReportName>(
  'reportName',
  [
    'METADATA_HISTORY_USAGE',
    'HISTORY_USAGE',
    'METADATA_HISTORY_GREENBUTTON',
    'HISTORY_GREENBUTTON',
    'METADATA_TELEMETRY_USAGE',
    'TELEMETRY_USAGE',
    'METADATA_TELEMETRY_STATUS',
    'TELEMETRY_STATUS',
  ],
  true,
);

export const REPORT_TYPE = enumeration<ReportType>(
  'reportType',
  [
    'reading',
    'usage',
    'demand',
    'setPoint',
    'deltaUsage',
    'deltaSetPoint',
    'deltaDemand',
    'baseline',
    'deviation',
    'avgUsage',
    'avgDemand',
    'operatingState',
    'upRegulationCapacityAvailable',
    'downRegulationCapacityAvailable',
    'regulationSetpoint',
    'storedEnergy',
    'targetEnergyStorage',
    'availableEnergyStorage',
    'price',
    'level',
    'powerFactor',
    'percentUsage',
    'percentDemand',
    'x-resourceStatus',
  ],
  true,
);

export const READING_TYPE = enumeration<ReadingType>(
  'readingType',
  [
    'Direct Read',
    'Net',
    'Allocated',
    'Estimated',
    'Summed',
    'Derived',
    'Mean',
    'Peak',
    'Hybrid',
    'Contract',
    'Projected',
    'x-RMS',
    'x-notApplicable',
  ],
  true,
);

export const DATA_QUALITY = enumeration<DataQuality>(
  'oadrDataQuality',
  [
    'No Quality - No Value',
    'No New Value - Previous Value Used',
    'Quality Bad - Non Specific',
    'Quality Bad - Configuration Error',
    'Quality Bad - Not Connected',
    'Quality Bad - Device Failure',
    'Quality Bad - Sensor Failure',
    'Quality Bad - Last Known Value',
    'Quality Bad - Comm Failure',
    'Quality Bad - Out of Service',
    'Quality Uncertain - Non Specific',
    'Quality Uncertain - Last Usable Value',
    'Quality Uncertain - Sensor Not Accurate',
    'Quality Uncertain - EU Units Exceeded',
    'Quality Uncertain - Sub Normal',
    'Quality Good - Non Specific',
    'Quality Good - Local Override',
    'Quality Limit - Field/Not',
    'Quality Limit - Field/Low',
    'Quality Limit - Field/High',
    'Quality Limit - Field/Constant',
  ],
  true,
);

/** scale:SiScaleCodeType restricts xs:string (no collapsing in XSD). */
export const SI_SCALE_CODE = enumeration<SiScaleCode>('siScaleCode', [
  'p',
  'n',
  'micro',
  'm',
  'c',
  'd',
  'k',
  'M',
  'G',
  'T',
  'none',
]);

export const TEMPERATURE_UNIT = enumeration<'celsius' | 'fahrenheit'>('temperature itemUnits', [
  'celsius',
  'fahrenheit',
]);
export const CURRENCY_DESCRIPTION = enumeration<'currency' | 'currencyPerKW' | 'currencyPerKWh'>(
  'currency itemDescription',
  ['currency', 'currencyPerKW', 'currencyPerKWh'],
);
export const REAL_POWER_UNIT = enumeration<'W' | 'J/s'>('powerReal itemUnits', ['W', 'J/s']);

/** ISO 4217 alphabetic codes as listed in oadr_ISO_ISO3AlphaCurrencyCode_20100407.xsd (UN/CEFACT, 2010). */
export const CURRENCY_CODE = enumeration<string>(
  'ISO 4217 currency code',
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYR BZD CAD ' +
    'CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EEK EGP ERN ETB EUR FJD FKP GBP GEL ' +
    'GHS GIP GMD GNF GTQ GWP GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW ' +
    'KWD KYD KZT LAK LBP LKR LRD LSL LTL LVL LYD MAD MDL MGA MKD MMK MNT MOP MRO MUR MVR MWK MXN MXV MYR MZN NAD ' +
    'NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS ' +
    'SRD STD SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN USS UYI UYU UZS VEF VND VUV WST XAF ' +
    'XAG XAU XBA XBB XBC XBD XCD XDR XFU XOF XPD XPF XPT XTS XXX YER ZAR ZMK ZWL'
  ).split(' '),
);
