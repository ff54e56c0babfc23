/**
 * One reader and one writer per oadrSignedObject payload (oadr_20b.xsd §EVENT, OPT, REPORT, REGISTRATION and
 * POLL PAYLOADS). Writers follow each complexType's xs:sequence; readers accept any child order.
 */
import {
  readDurationProp,
  readEiResponse,
  readProperties,
  readQualifiedEventID,
  readTarget,
  uriText,
  writeDurationProp,
  writeEiResponse,
  writeProperties,
  writeQualifiedEventID,
  writeTarget,
} from './common.ts';
import { OPT_REASON, OPT_TYPE, PROFILE_NAME, SERVICE_NAME, TRANSPORT_NAME } from './enums.ts';
import { readEventResponse, readOadrEvent, writeEventResponse, writeOadrEvent } from './events.ts';
import { asEnum, asString, asUri, type ElementReader, put } from './reader.ts';
import {
  readCancelReportBody,
  readOadrReport,
  readPendingReports,
  readReportRequest,
  writeCancelReportBody,
  writeOadrReport,
  writePendingReports,
  writeReportRequest,
} from './reports.ts';
import type {
  OadrCreatedPartyRegistration,
  OadrExtension,
  OadrInfo,
  OadrMessage,
  OadrMessageOf,
  OadrMessageType,
  OadrProfile,
  OadrService,
} from './types.ts';
import { formatBoolean, formatDateTime, formatUnsigned, parseBoolean, parseDateTime, parseUnsigned } from './values.ts';
import { type ElementWriter, enumText, stringText } from './writer.ts';

type Body<T extends OadrMessageType> = Omit<OadrMessageOf<T>, 'type'>;

interface MessageCodec<T extends OadrMessageType> {
  read(r: ElementReader): Body<T>;
  write(w: ElementWriter, v: OadrMessageOf<T>): void;
}

type MessageCodecs = { [T in OadrMessageType]: MessageCodec<T> };

const optString = (r: ElementReader, prefix: 'ei' | 'pyld' | 'oadr', local: string): string | undefined =>
  r.optValue(prefix, local, asString);

function withOptional<T extends object>(base: T, optional: Partial<T>): T {
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (base as Record<string, unknown>)[key] = value;
  }
  return base;
}

// ------------------------------------------------------------------ registration helpers

function readInfo(r: ElementReader): OadrInfo {
  return { oadrKey: r.req('oadr', 'oadrKey', asString), oadrValue: r.req('oadr', 'oadrValue', asString) };
}

function writeInfo(w: ElementWriter, v: OadrInfo): void {
  w.simple('oadr:oadrKey', v.oadrKey, stringText);
  w.simple('oadr:oadrValue', v.oadrValue, stringText);
}

function readProfiles(r: ElementReader): OadrProfile[] {
  return r
    .one('oadr', 'oadrProfiles')
    .many('oadr', 'oadrProfile', 1)
    .map((profile) => ({
      oadrProfileName: profile.req('oadr', 'oadrProfileName', asEnum(PROFILE_NAME)),
      oadrTransports: profile
        .one('oadr', 'oadrTransports')
        .many('oadr', 'oadrTransport', 1)
        .map((transport) => transport.req('oadr', 'oadrTransportName', asEnum(TRANSPORT_NAME))),
    }));
}

function writeProfiles(w: ElementWriter, profiles: OadrProfile[]): void {
  if (profiles === undefined || profiles === null) w.fail('required element is missing', 'oadrProfiles');
  w.element('oadr:oadrProfiles', () =>
    w.repeated(
      'oadr:oadrProfile',
      profiles,
      (p) => {
        w.simple('oadr:oadrProfileName', p.oadrProfileName, enumText(PROFILE_NAME));
        w.element('oadr:oadrTransports', () =>
          w.repeated(
            'oadr:oadrTransport',
            (p.oadrTransports ?? []).map((name) => ({ name })),
            (t) => w.simple('oadr:oadrTransportName', t.name, enumText(TRANSPORT_NAME)),
            1,
          ),
        );
      },
      1,
    ),
  );
}

function readCreatedPartyRegistration(r: ElementReader): Body<'oadrCreatedPartyRegistration'> {
  const out: Body<'oadrCreatedPartyRegistration'> = {
    eiResponse: readEiResponse(r.one('ei', 'eiResponse')),
    vtnID: r.req('ei', 'vtnID', asString),
    oadrProfiles: readProfiles(r),
  };
  put(out, 'registrationID', optString(r, 'ei', 'registrationID'));
  put(out, 'venID', optString(r, 'ei', 'venID'));
  put(out, 'oadrRequestedOadrPollFreq', readDurationProp(r.opt('oadr', 'oadrRequestedOadrPollFreq')));
  const services = r
    .opt('oadr', 'oadrServiceSpecificInfo')
    ?.many('oadr', 'oadrService')
    .map(
      (s): OadrService => ({
        oadrServiceName: s.req('oadr', 'oadrServiceName', asEnum(SERVICE_NAME)),
        oadrInfo: s.many('oadr', 'oadrInfo', 1).map(readInfo),
      }),
    );
  if (services !== undefined && services.length > 0) out.oadrServiceSpecificInfo = services;
  const extensions = r
    .opt('oadr', 'oadrExtensions')
    ?.many('oadr', 'oadrExtension')
    .map((e): OadrExtension => {
      const extension: OadrExtension = { oadrExtensionName: e.req('oadr', 'oadrExtensionName', asString) };
      put(extension, 'oadrInfo', e.listOf('oadr', 'oadrInfo', readInfo));
      return extension;
    });
  if (extensions !== undefined && extensions.length > 0) out.oadrExtensions = extensions;
  return out;
}

function writeCreatedPartyRegistration(w: ElementWriter, v: OadrCreatedPartyRegistration): void {
  w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
  w.optSimple('ei:registrationID', v.registrationID, stringText);
  w.optSimple('ei:venID', v.venID, stringText);
  w.simple('ei:vtnID', v.vtnID, stringText);
  writeProfiles(w, v.oadrProfiles);
  writeDurationProp(w, 'oadr:oadrRequestedOadrPollFreq', v.oadrRequestedOadrPollFreq, false);
  if (v.oadrServiceSpecificInfo !== undefined && v.oadrServiceSpecificInfo.length > 0) {
    w.element('oadr:oadrServiceSpecificInfo', () =>
      w.repeated('oadr:oadrService', v.oadrServiceSpecificInfo, (s) => {
        w.simple('oadr:oadrServiceName', s.oadrServiceName, enumText(SERVICE_NAME));
        w.repeated('oadr:oadrInfo', s.oadrInfo, (i) => writeInfo(w, i), 1);
      }),
    );
  }
  if (v.oadrExtensions !== undefined && v.oadrExtensions.length > 0) {
    w.element('oadr:oadrExtensions', () =>
      w.repeated('oadr:oadrExtension', v.oadrExtensions, (e) => {
        w.simple('oadr:oadrExtensionName', e.oadrExtensionName, stringText);
        w.repeated('oadr:oadrInfo', e.oadrInfo, (i) => writeInfo(w, i));
      }),
    );
  }
}

// ------------------------------------------------------------------ the table

export const MESSAGE_CODECS: MessageCodecs = {
  // EiRegisterParty
  oadrQueryRegistration: {
    read: (r) => ({ requestID: r.req('pyld', 'requestID', asString) }),
    write: (w, v) => w.simple('pyld:requestID', v.requestID, stringText),
  },
  oadrCreatePartyRegistration: {
    read: (r) =>
      withOptional(
        {
          requestID: r.req('pyld', 'requestID', asString),
          oadrProfileName: r.req('oadr', 'oadrProfileName', asEnum(PROFILE_NAME)),
          oadrTransportName: r.req('oadr', 'oadrTransportName', asEnum(TRANSPORT_NAME)),
          oadrReportOnly: r.req('oadr', 'oadrReportOnly', parseBoolean),
          oadrXmlSignature: r.req('oadr', 'oadrXmlSignature', parseBoolean),
        } as Body<'oadrCreatePartyRegistration'>,
        {
          registrationID: optString(r, 'ei', 'registrationID'),
          venID: optString(r, 'ei', 'venID'),
          oadrTransportAddress: optString(r, 'oadr', 'oadrTransportAddress'),
          oadrVenName: optString(r, 'oadr', 'oadrVenName'),
          oadrHttpPullModel: r.optValue('oadr', 'oadrHttpPullModel', parseBoolean),
        },
      ),
    write: (w, v) => {
      w.simple('pyld:requestID', v.requestID, stringText);
      w.optSimple('ei:registrationID', v.registrationID, stringText);
      w.optSimple('ei:venID', v.venID, stringText);
      w.simple('oadr:oadrProfileName', v.oadrProfileName, enumText(PROFILE_NAME));
      w.simple('oadr:oadrTransportName', v.oadrTransportName, enumText(TRANSPORT_NAME));
      w.optSimple('oadr:oadrTransportAddress', v.oadrTransportAddress, stringText);
      w.simple('oadr:oadrReportOnly', v.oadrReportOnly, formatBoolean);
      w.simple('oadr:oadrXmlSignature', v.oadrXmlSignature, formatBoolean);
      w.optSimple('oadr:oadrVenName', v.oadrVenName, stringText);
      w.optSimple('oadr:oadrHttpPullModel', v.oadrHttpPullModel, formatBoolean);
    },
  },
  oadrCreatedPartyRegistration: { read: readCreatedPartyRegistration, write: writeCreatedPartyRegistration },
  oadrCancelPartyRegistration: {
    read: (r) =>
      withOptional(
        {
          requestID: r.req('pyld', 'requestID', asString),
          registrationID: r.req('ei', 'registrationID', asString),
        } as Body<'oadrCancelPartyRegistration'>,
        { venID: optString(r, 'ei', 'venID') },
      ),
    write: (w, v) => {
      w.simple('pyld:requestID', v.requestID, stringText);
      w.simple('ei:registrationID', v.registrationID, stringText);
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrCanceledPartyRegistration: {
    read: (r) =>
      withOptional({ eiResponse: readEiResponse(r.one('ei', 'eiResponse')) } as Body<'oadrCanceledPartyRegistration'>, {
        registrationID: optString(r, 'ei', 'registrationID'),
        venID: optString(r, 'ei', 'venID'),
      }),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.optSimple('ei:registrationID', v.registrationID, stringText);
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrRequestReregistration: {
    read: (r) => ({ venID: r.req('ei', 'venID', asString) }),
    write: (w, v) => w.simple('ei:venID', v.venID, stringText),
  },

  // OadrPoll
  oadrPoll: {
    read: (r) => ({ venID: r.req('ei', 'venID', asString) }),
    write: (w, v) => w.simple('ei:venID', v.venID, stringText),
  },
  oadrResponse: {
    read: (r) =>
      withOptional({ eiResponse: readEiResponse(r.one('ei', 'eiResponse')) } as Body<'oadrResponse'>, {
        venID: optString(r, 'ei', 'venID'),
      }),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },

  // EiEvent
  oadrDistributeEvent: {
    read: (r) => {
      const out: Body<'oadrDistributeEvent'> = {
        requestID: r.req('pyld', 'requestID', asString),
        vtnID: r.req('ei', 'vtnID', asString),
      };
      const response = r.opt('ei', 'eiResponse');
      if (response !== undefined) out.eiResponse = readEiResponse(response);
      put(out, 'oadrEvent', r.listOf('oadr', 'oadrEvent', readOadrEvent));
      return out;
    },
    write: (w, v) => {
      w.optComplex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.simple('pyld:requestID', v.requestID, stringText);
      w.simple('ei:vtnID', v.vtnID, stringText);
      w.repeated('oadr:oadrEvent', v.oadrEvent, (e) => writeOadrEvent(w, e));
    },
  },
  oadrRequestEvent: {
    read: (r) => {
      const request = r.one('pyld', 'eiRequestEvent');
      return withOptional(
        {
          requestID: request.req('pyld', 'requestID', asString),
          venID: request.req('ei', 'venID', asString),
        } as Body<'oadrRequestEvent'>,
        { replyLimit: request.optValue('pyld', 'replyLimit', (raw) => parseUnsigned(raw)) },
      );
    },
    write: (w, v) =>
      w.element('pyld:eiRequestEvent', () => {
        w.simple('pyld:requestID', v.requestID, stringText);
        w.simple('ei:venID', v.venID, stringText);
        w.optSimple('pyld:replyLimit', v.replyLimit, (x) => formatUnsigned(x));
      }),
  },
  oadrCreatedEvent: {
    read: (r) => {
      const created = r.one('pyld', 'eiCreatedEvent');
      const out: Body<'oadrCreatedEvent'> = {
        eiResponse: readEiResponse(created.one('ei', 'eiResponse')),
        venID: created.req('ei', 'venID', asString),
      };
      const responses = created.opt('ei', 'eventResponses')?.many('ei', 'eventResponse').map(readEventResponse);
      if (responses !== undefined && responses.length > 0) out.eventResponses = responses;
      return out;
    },
    write: (w, v) =>
      w.element('pyld:eiCreatedEvent', () => {
        w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
        if (v.eventResponses !== undefined && v.eventResponses.length > 0) {
          w.element('ei:eventResponses', () =>
            w.repeated('ei:eventResponse', v.eventResponses, (x) => writeEventResponse(w, x)),
          );
        }
        w.simple('ei:venID', v.venID, stringText);
      }),
  },

  // EiReport
  oadrRegisterReport: {
    read: (r) =>
      withOptional({ requestID: r.req('pyld', 'requestID', asString) } as Body<'oadrRegisterReport'>, {
        oadrReport: r.listOf('oadr', 'oadrReport', readOadrReport),
        venID: optString(r, 'ei', 'venID'),
        reportRequestID: optString(r, 'ei', 'reportRequestID'),
      }),
    write: (w, v) => {
      w.simple('pyld:requestID', v.requestID, stringText);
      w.repeated('oadr:oadrReport', v.oadrReport, (x) => writeOadrReport(w, x));
      w.optSimple('ei:venID', v.venID, stringText);
      w.optSimple('ei:reportRequestID', v.reportRequestID, stringText);
    },
  },
  oadrRegisteredReport: {
    read: (r) =>
      withOptional({ eiResponse: readEiResponse(r.one('ei', 'eiResponse')) } as Body<'oadrRegisteredReport'>, {
        oadrReportRequest: r.listOf('oadr', 'oadrReportRequest', readReportRequest),
        venID: optString(r, 'ei', 'venID'),
      }),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.repeated('oadr:oadrReportRequest', v.oadrReportRequest, (x) => writeReportRequest(w, x));
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrCreateReport: {
    read: (r) =>
      withOptional(
        {
          requestID: r.req('pyld', 'requestID', asString),
          oadrReportRequest: r.many('oadr', 'oadrReportRequest', 1).map(readReportRequest),
        } as Body<'oadrCreateReport'>,
        { venID: optString(r, 'ei', 'venID') },
      ),
    write: (w, v) => {
      w.simple('pyld:requestID', v.requestID, stringText);
      w.repeated('oadr:oadrReportRequest', v.oadrReportRequest, (x) => writeReportRequest(w, x), 1);
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrCreatedReport: {
    read: (r) =>
      withOptional(
        {
          eiResponse: readEiResponse(r.one('ei', 'eiResponse')),
          oadrPendingReports: readPendingReports(r),
        } as Body<'oadrCreatedReport'>,
        { venID: optString(r, 'ei', 'venID') },
      ),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      writePendingReports(w, v.oadrPendingReports);
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrUpdateReport: {
    read: (r) =>
      withOptional({ requestID: r.req('pyld', 'requestID', asString) } as Body<'oadrUpdateReport'>, {
        oadrReport: r.listOf('oadr', 'oadrReport', readOadrReport),
        venID: optString(r, 'ei', 'venID'),
      }),
    write: (w, v) => {
      w.simple('pyld:requestID', v.requestID, stringText);
      w.repeated('oadr:oadrReport', v.oadrReport, (x) => writeOadrReport(w, x));
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrUpdatedReport: {
    read: (r) => {
      const out: Body<'oadrUpdatedReport'> = { eiResponse: readEiResponse(r.one('ei', 'eiResponse')) };
      const cancel = r.opt('oadr', 'oadrCancelReport');
      if (cancel !== undefined) out.oadrCancelReport = readCancelReportBody(cancel);
      put(out, 'venID', optString(r, 'ei', 'venID'));
      return out;
    },
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.optComplex('oadr:oadrCancelReport', v.oadrCancelReport, (x) => writeCancelReportBody(w, x));
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },
  oadrCancelReport: {
    read: readCancelReportBody,
    write: writeCancelReportBody,
  },
  oadrCanceledReport: {
    read: (r) =>
      withOptional(
        {
          eiResponse: readEiResponse(r.one('ei', 'eiResponse')),
          oadrPendingReports: readPendingReports(r),
        } as Body<'oadrCanceledReport'>,
        { venID: optString(r, 'ei', 'venID') },
      ),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      writePendingReports(w, v.oadrPendingReports);
      w.optSimple('ei:venID', v.venID, stringText);
    },
  },

  // EiOpt
  oadrCreateOpt: {
    read: (r) => {
      const out: Body<'oadrCreateOpt'> = {
        optID: r.req('ei', 'optID', asString),
        optType: r.req('ei', 'optType', asEnum(OPT_TYPE)),
        optReason: r.req('ei', 'optReason', asEnum(OPT_REASON)),
        venID: r.req('ei', 'venID', asString),
        createdDateTime: r.req('ei', 'createdDateTime', parseDateTime),
        requestID: r.req('pyld', 'requestID', asString),
        eiTarget: readTarget(r.one('ei', 'eiTarget')),
      };
      put(out, 'marketContext', r.optValue('emix', 'marketContext', asUri));
      const availability = r.opt('xcal', 'vavailability');
      if (availability !== undefined) {
        out.vavailability = availability
          .one('xcal', 'components')
          .many('xcal', 'available')
          .map((a) => readProperties(a.one('xcal', 'properties')));
      }
      const qualified = r.opt('ei', 'qualifiedEventID');
      if (qualified !== undefined) out.qualifiedEventID = readQualifiedEventID(qualified);
      const deviceClass = r.opt('oadr', 'oadrDeviceClass');
      if (deviceClass !== undefined) out.oadrDeviceClass = readTarget(deviceClass);
      return out;
    },
    write: (w, v) => {
      w.simple('ei:optID', v.optID, stringText);
      w.simple('ei:optType', v.optType, enumText(OPT_TYPE));
      w.simple('ei:optReason', v.optReason, enumText(OPT_REASON));
      w.optSimple('emix:marketContext', v.marketContext, uriText);
      w.simple('ei:venID', v.venID, stringText);
      if (v.vavailability !== undefined && v.vavailability !== null) {
        w.element('xcal:vavailability', () =>
          w.element('xcal:components', () =>
            w.repeated('xcal:available', v.vavailability, (p) =>
              w.element('xcal:properties', () => writeProperties(w, p)),
            ),
          ),
        );
      }
      w.simple('ei:createdDateTime', v.createdDateTime, formatDateTime);
      w.simple('pyld:requestID', v.requestID, stringText);
      w.optComplex('ei:qualifiedEventID', v.qualifiedEventID, (q) => writeQualifiedEventID(w, q));
      w.complex('ei:eiTarget', v.eiTarget, (t) => writeTarget(w, t));
      w.optComplex('oadr:oadrDeviceClass', v.oadrDeviceClass, (t) => writeTarget(w, t));
    },
  },
  oadrCreatedOpt: {
    read: (r) => ({ eiResponse: readEiResponse(r.one('ei', 'eiResponse')), optID: r.req('ei', 'optID', asString) }),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.simple('ei:optID', v.optID, stringText);
    },
  },
  oadrCancelOpt: {
    read: (r) => ({
      requestID: r.req('pyld', 'requestID', asString),
      optID: r.req('ei', 'optID', asString),
      venID: r.req('ei', 'venID', asString),
    }),
    write: (w, v) => {
      w.simple('pyld:requestID', v.requestID, stringText);
      w.simple('ei:optID', v.optID, stringText);
      w.simple('ei:venID', v.venID, stringText);
    },
  },
  oadrCanceledOpt: {
    read: (r) =>
      withOptional({ eiResponse: readEiResponse(r.one('ei', 'eiResponse')) } as Body<'oadrCanceledOpt'>, {
        optID: optString(r, 'ei', 'optID'),
      }),
    write: (w, v) => {
      w.complex('ei:eiResponse', v.eiResponse, (x) => writeEiResponse(w, x));
      w.optSimple('ei:optID', v.optID, stringText);
    },
  },
};

export function isMessageType(name: string): name is OadrMessageType {
  return Object.hasOwn(MESSAGE_CODECS, name);
}

/** Read a payload element (the child of oadrSignedObject) into its message. */
export function readMessage(type: OadrMessageType, r: ElementReader): OadrMessage {
  const codec = MESSAGE_CODECS[type] as unknown as MessageCodec<OadrMessageType>;
  return { type, ...codec.read(r) } as OadrMessage;
}

/** Write a message's children. */
export function writeMessage(w: ElementWriter, message: OadrMessage): void {
  const codec = MESSAGE_CODECS[message.type] as unknown as MessageCodec<OadrMessageType>;
  codec.write(w, message);
}
