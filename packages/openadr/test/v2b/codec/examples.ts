/**
 * One message of every 2.0b type, filled with the optional fields the schema allows, for round trips and XSD
 * validation. Times are whole epoch milliseconds, durations whole seconds.
 */
import type {
  EiResponse,
  EiTarget,
  OadrEvent,
  OadrMessage,
  OadrMessageOf,
  OadrMessageType,
  OadrReport,
  ReportRequest,
} from '../../../src/v2b/codec/index.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const ok = (requestID: string): EiResponse => ({ responseCode: 200, responseDescription: 'OK', requestID });

export const FULL_TARGET: EiTarget = {
  aggregatedPnode: ['PNODE_AGG'],
  endDeviceAsset: ['mrid-device-1'],
  meterAsset: ['mrid-meter-1'],
  pnode: ['PNODE_1'],
  serviceArea: [{ id: 'area1', polygonId: 'poly1', posList: [45.1, -93.2, 45.3, -93.1, 45.1, -93.2] }],
  serviceDeliveryPoint: ['SDP_1'],
  serviceLocation: [{ posList: [1, 2, 3, 4] }],
  transportInterface: [{ pointOfReceipt: 'POR', pointOfDelivery: 'POD' }],
  groupID: ['group-1'],
  groupName: ['Group One'],
  resourceID: ['resource-1', 'resource-2'],
  venID: ['VEN_1'],
  partyID: ['party-1'],
};

export const EVENT: OadrEvent = {
  eventDescriptor: {
    eventID: 'event-1',
    modificationNumber: 2,
    modificationDateTime: T0 - 60_000,
    modificationReason: 'price update',
    priority: 1,
    marketContext: 'http://market.example/context',
    createdDateTime: T0 - 3_600_000,
    eventStatus: 'near',
    testEvent: 'false',
    vtnComment: 'comment & <escaped>',
  },
  eiActivePeriod: {
    dtstart: T0,
    duration: 7200,
    startafter: 300,
    notification: 86400,
    rampUp: 600,
    recovery: 900,
  },
  eiEventSignals: [
    {
      intervals: [
        { duration: 3600, uid: '0', signalPayload: 0.5 },
        { duration: 3600, uid: '1', signalPayload: 0.75 },
      ],
      signalName: 'ENERGY_PRICE',
      signalType: 'price',
      signalID: 'signal-price',
      itemBase: { kind: 'currencyPerKWh', itemDescription: 'currencyPerKWh', itemUnits: 'USD', siScaleCode: 'none' },
      currentValue: 0,
    },
    {
      intervals: [{ dtstart: T0, duration: 7200, uid: '0', signalPayload: 2 }],
      eiTarget: { resourceID: ['resource-1'] },
      signalName: 'SIMPLE',
      signalType: 'level',
      signalID: 'signal-simple',
      currentValue: 0,
    },
    {
      intervals: [{ duration: 7200, uid: '0', signalPayload: -1500.25 }],
      signalName: 'LOAD_DISPATCH',
      signalType: 'x-loadControlSetpoint',
      signalID: 'signal-dispatch',
      itemBase: {
        kind: 'powerReal',
        itemDescription: 'RealPower',
        itemUnits: 'W',
        siScaleCode: 'k',
        powerAttributes: { hertz: 60, voltage: 240, ac: true },
      },
    },
  ],
  eiEventBaseline: {
    dtstart: T0,
    duration: 7200,
    intervals: [{ duration: 7200, uid: '0', signalPayload: 12.5 }],
    baselineID: 'baseline-1',
    resourceID: ['resource-1'],
    baselineName: 'Baseline',
    itemBase: { kind: 'energyReal', itemDescription: 'RealEnergy', itemUnits: 'Wh', siScaleCode: 'k' },
  },
  eiTarget: FULL_TARGET,
  oadrResponseRequired: 'always',
};

const METADATA_REPORT: OadrReport = {
  duration: 7200,
  oadrReportDescription: [
    {
      rID: 'rid-power',
      reportSubject: { endDeviceAsset: ['meter'] },
      reportDataSource: { resourceID: ['resource-1'] },
      reportType: 'usage',
      itemBase: {
        kind: 'powerReal',
        itemDescription: 'RealPower',
        itemUnits: 'W',
        siScaleCode: 'none',
        powerAttributes: { hertz: 50, voltage: 230.5, ac: true },
      },
      readingType: 'Direct Read',
      marketContext: 'http://market.example/context',
      oadrSamplingRate: { oadrMinPeriod: 60, oadrMaxPeriod: 3600, oadrOnChange: false },
    },
    {
      rID: 'rid-status',
      reportDataSource: { resourceID: ['resource-1'] },
      reportType: 'x-resourceStatus',
      readingType: 'x-notApplicable',
      oadrSamplingRate: { oadrMinPeriod: 60, oadrMaxPeriod: 60, oadrOnChange: true },
    },
    {
      rID: 'rid-temperature',
      reportType: 'reading',
      itemBase: { kind: 'temperature', itemDescription: 'temperature', itemUnits: 'celsius', siScaleCode: 'none' },
      readingType: 'x-RMS',
    },
    {
      rID: 'rid-pulse',
      reportType: 'reading',
      itemBase: { kind: 'pulseCount', itemDescription: 'pulse count', itemUnits: 'count', pulseFactor: 0.001 },
      readingType: 'Summed',
    },
    {
      rID: 'rid-custom',
      reportType: 'x-custom',
      itemBase: { kind: 'customUnit', itemDescription: 'Litres', itemUnits: 'l', siScaleCode: 'none' },
      readingType: 'x-vendor',
    },
  ],
  reportRequestID: '0',
  reportSpecifierID: 'spec-telemetry',
  reportName: 'METADATA_TELEMETRY_USAGE',
  createdDateTime: T0,
};

const DATA_REPORT: OadrReport = {
  dtstart: T0,
  duration: 120,
  intervals: [
    {
      dtstart: T0,
      duration: 60,
      uid: '0',
      oadrReportPayload: [
        {
          rID: 'rid-power',
          confidence: 100,
          accuracy: 0.5,
          payload: { kind: 'payloadFloat', value: 1234.5 },
          oadrDataQuality: 'Quality Good - Non Specific',
        },
        {
          rID: 'rid-status',
          payload: {
            kind: 'oadrPayloadResourceStatus',
            oadrOnline: true,
            oadrManualOverride: false,
            oadrLoadControlState: {
              oadrCapacity: { oadrMin: 0, oadrMax: 100, oadrCurrent: 50, oadrNormal: 100 },
              oadrPercentOffset: { oadrCurrent: -10 },
            },
          },
          oadrDataQuality: 'x-vendor-quality',
        },
      ],
    },
    {
      dtstart: T0 + 60_000,
      duration: 60,
      uid: '1',
      oadrReportPayload: [{ rID: 'rid-power', payload: { kind: 'payloadFloat', value: 1e-7 } }],
    },
  ],
  eiReportID: 'report-1',
  reportRequestID: 'request-1',
  reportSpecifierID: 'spec-telemetry',
  reportName: 'TELEMETRY_USAGE',
  createdDateTime: T0 + 120_000,
};

const REPORT_REQUEST: ReportRequest = {
  reportRequestID: 'request-1',
  reportSpecifier: {
    reportSpecifierID: 'spec-telemetry',
    granularity: 60,
    reportBackDuration: 120,
    reportInterval: { dtstart: T0, duration: 86400 },
    specifierPayload: [
      { rID: 'rid-power', readingType: 'Direct Read' },
      {
        rID: 'rid-energy',
        itemBase: { kind: 'energyReal', itemDescription: '', itemUnits: 'Wh', siScaleCode: 'k' },
        readingType: 'x-notApplicable',
      },
    ],
  },
};

/** Exactly one per message type (the test checks the set is complete). */
export const EXAMPLES: { [T in OadrMessageType]: OadrMessageOf<T> } = {
  oadrQueryRegistration: { type: 'oadrQueryRegistration', requestID: 'req-query' },
  oadrCreatePartyRegistration: {
    type: 'oadrCreatePartyRegistration',
    requestID: 'req-create',
    registrationID: 'REG_1',
    venID: 'VEN_1',
    oadrProfileName: '2.0b',
    oadrTransportName: 'simpleHttp',
    oadrTransportAddress: 'https://ven.example/',
    oadrReportOnly: false,
    oadrXmlSignature: true,
    oadrVenName: 'Gridseam VEN',
    oadrHttpPullModel: true,
  },
  oadrCreatedPartyRegistration: {
    type: 'oadrCreatedPartyRegistration',
    eiResponse: ok('req-create'),
    registrationID: 'REG_1',
    venID: 'VEN_1',
    vtnID: 'VTN_1',
    oadrProfiles: [
      { oadrProfileName: '2.0a', oadrTransports: ['simpleHttp'] },
      { oadrProfileName: '2.0b', oadrTransports: ['simpleHttp', 'xmpp'] },
    ],
    oadrRequestedOadrPollFreq: 10,
    oadrServiceSpecificInfo: [{ oadrServiceName: 'EiEvent', oadrInfo: [{ oadrKey: 'key', oadrValue: 'value' }] }],
    oadrExtensions: [
      { oadrExtensionName: 'ext-1', oadrInfo: [{ oadrKey: 'a', oadrValue: 'b' }] },
      { oadrExtensionName: 'ext-2' },
    ],
  },
  oadrCancelPartyRegistration: {
    type: 'oadrCancelPartyRegistration',
    requestID: 'req-cancel',
    registrationID: 'REG_1',
    venID: 'VEN_1',
  },
  oadrCanceledPartyRegistration: {
    type: 'oadrCanceledPartyRegistration',
    eiResponse: ok('req-cancel'),
    registrationID: 'REG_1',
    venID: 'VEN_1',
  },
  oadrRequestReregistration: { type: 'oadrRequestReregistration', venID: 'VEN_1' },
  oadrPoll: { type: 'oadrPoll', venID: 'VEN_1' },
  oadrResponse: { type: 'oadrResponse', eiResponse: { responseCode: 452, requestID: '' }, venID: 'VEN_1' },
  oadrDistributeEvent: {
    type: 'oadrDistributeEvent',
    eiResponse: ok('req-request-event'),
    requestID: 'req-distribute',
    vtnID: 'VTN_1',
    oadrEvent: [EVENT],
  },
  oadrRequestEvent: { type: 'oadrRequestEvent', requestID: 'req-request-event', venID: 'VEN_1', replyLimit: 5 },
  oadrCreatedEvent: {
    type: 'oadrCreatedEvent',
    eiResponse: ok(''),
    eventResponses: [
      {
        responseCode: 200,
        responseDescription: 'OK',
        requestID: 'req-distribute',
        qualifiedEventID: { eventID: 'event-1', modificationNumber: 2 },
        optType: 'optIn',
      },
      {
        responseCode: 200,
        requestID: 'req-distribute',
        qualifiedEventID: { eventID: 'event-2', modificationNumber: 0 },
        optType: 'optOut',
      },
    ],
    venID: 'VEN_1',
  },
  oadrRegisterReport: {
    type: 'oadrRegisterReport',
    requestID: 'req-register-report',
    oadrReport: [METADATA_REPORT],
    venID: 'VEN_1',
    reportRequestID: '0',
  },
  oadrRegisteredReport: {
    type: 'oadrRegisteredReport',
    eiResponse: ok('req-register-report'),
    oadrReportRequest: [REPORT_REQUEST],
    venID: 'VEN_1',
  },
  oadrCreateReport: {
    type: 'oadrCreateReport',
    requestID: 'req-create-report',
    oadrReportRequest: [REPORT_REQUEST],
    venID: 'VEN_1',
  },
  oadrCreatedReport: {
    type: 'oadrCreatedReport',
    eiResponse: ok('req-create-report'),
    oadrPendingReports: ['request-1', 'request-2'],
    venID: 'VEN_1',
  },
  oadrUpdateReport: {
    type: 'oadrUpdateReport',
    requestID: 'req-update-report',
    oadrReport: [DATA_REPORT],
    venID: 'VEN_1',
  },
  oadrUpdatedReport: {
    type: 'oadrUpdatedReport',
    eiResponse: ok('req-update-report'),
    oadrCancelReport: {
      requestID: 'req-cancel-report',
      reportRequestID: ['request-1'],
      reportToFollow: false,
      venID: 'VEN_1',
    },
    venID: 'VEN_1',
  },
  oadrCancelReport: {
    type: 'oadrCancelReport',
    requestID: 'req-cancel-report',
    reportRequestID: ['request-1', 'request-2'],
    reportToFollow: true,
    venID: 'VEN_1',
  },
  oadrCanceledReport: {
    type: 'oadrCanceledReport',
    eiResponse: ok('req-cancel-report'),
    oadrPendingReports: [],
    venID: 'VEN_1',
  },
  oadrCreateOpt: {
    type: 'oadrCreateOpt',
    optID: 'opt-1',
    optType: 'optOut',
    optReason: 'participating',
    marketContext: 'http://market.example/context',
    venID: 'VEN_1',
    vavailability: [
      { dtstart: T0, duration: 86400 },
      { dtstart: T0 + 2 * 86400_000, duration: 3600, startafter: 60 },
    ],
    createdDateTime: T0,
    requestID: 'req-create-opt',
    qualifiedEventID: { eventID: 'event-1', modificationNumber: 2 },
    eiTarget: { resourceID: ['resource-1'] },
    oadrDeviceClass: { endDeviceAsset: ['Smart_Appliance'] },
  },
  oadrCreatedOpt: { type: 'oadrCreatedOpt', eiResponse: ok('req-create-opt'), optID: 'opt-1' },
  oadrCancelOpt: { type: 'oadrCancelOpt', requestID: 'req-cancel-opt', optID: 'opt-1', venID: 'VEN_1' },
  oadrCanceledOpt: { type: 'oadrCanceledOpt', eiResponse: ok('req-cancel-opt'), optID: 'opt-1' },
};

/** Smallest valid message of each type (required fields only). */
export const MINIMAL: OadrMessage[] = [
  { type: 'oadrDistributeEvent', requestID: 'r', vtnID: 'VTN' },
  { type: 'oadrCreatedEvent', eiResponse: { responseCode: 200, requestID: '' }, venID: 'VEN' },
  { type: 'oadrRegisterReport', requestID: 'r' },
  { type: 'oadrRegisteredReport', eiResponse: { responseCode: 200, requestID: 'r' } },
  { type: 'oadrUpdateReport', requestID: 'r' },
  { type: 'oadrUpdatedReport', eiResponse: { responseCode: 200, requestID: 'r' } },
  { type: 'oadrCanceledReport', eiResponse: { responseCode: 200, requestID: 'r' }, oadrPendingReports: [] },
  { type: 'oadrCanceledOpt', eiResponse: { responseCode: 200, requestID: 'r' } },
  {
    type: 'oadrCreateOpt',
    optID: 'o',
    optType: 'optIn',
    optReason: 'x-schedule',
    venID: 'V',
    createdDateTime: 0,
    requestID: 'r',
    eiTarget: {},
  },
  { type: 'oadrResponse', eiResponse: { responseCode: 200, requestID: '' } },
  {
    type: 'oadrCreatedPartyRegistration',
    eiResponse: { responseCode: 200, requestID: 'r' },
    vtnID: 'VTN',
    oadrProfiles: [{ oadrProfileName: '2.0b', oadrTransports: ['simpleHttp'] }],
  },
];
