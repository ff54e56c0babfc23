/** EiEvent structures: oadrEvent (eiEvent flattened), signals, intervals, baselines and event responses. */
import {
  readDtstart,
  readDurationProp,
  readEiResponse,
  readItemBase,
  readProperties,
  readQualifiedEventID,
  readTarget,
  readUid,
  uriText,
  writeDtstart,
  writeDurationProp,
  writeEiResponse,
  writeItemBase,
  writeProperties,
  writeQualifiedEventID,
  writeTarget,
  writeUid,
} from './common.ts';
import { EVENT_STATUS, OPT_TYPE, RESPONSE_REQUIRED, SIGNAL_NAME, SIGNAL_TYPE } from './enums.ts';
import { asEnum, asString, asUri, type ElementReader, put } from './reader.ts';
import type { EventBaseline, EventDescriptor, EventInterval, EventResponse, EventSignal, OadrEvent } from './types.ts';
import {
  formatDateTime,
  formatFloat,
  formatResponseCode,
  formatUnsigned,
  parseDateTime,
  parseFloatValue,
  parseResponseCode,
  parseUnsigned,
} from './values.ts';
import { type ElementWriter, enumText, stringText } from './writer.ts';

// ------------------------------------------------------------------ intervals

/** ei:payloadFloat/ei:value inside `r` (signalPayload, currentValue). */
function readPayloadFloat(r: ElementReader): number {
  const other = r.elementChildren().find((c) => c.element.local !== 'payloadFloat');
  if (other !== undefined && other.element.local === 'oadrPayloadResourceStatus') {
    other.fail('only ei:payloadFloat is supported in event signals');
  }
  return r.one('ei', 'payloadFloat').req('ei', 'value', parseFloatValue);
}

function writePayloadFloat(w: ElementWriter, value: number): void {
  w.element('ei:payloadFloat', () => w.simple('ei:value', value, formatFloat));
}

export function readEventInterval(r: ElementReader): EventInterval {
  const payloads = r.many('ei', 'signalPayload', 1);
  if (payloads.length > 1) r.fail('more than one ei:signalPayload in one interval is not supported');
  const out: EventInterval = { signalPayload: readPayloadFloat(r.one('ei', 'signalPayload')) };
  put(out, 'dtstart', readDtstart(r.opt('xcal', 'dtstart')));
  put(out, 'duration', readDurationProp(r.opt('xcal', 'duration')));
  put(out, 'uid', readUid(r.opt('xcal', 'uid')));
  return out;
}

export function writeEventInterval(w: ElementWriter, v: EventInterval): void {
  writeDtstart(w, v.dtstart, false);
  writeDurationProp(w, 'xcal:duration', v.duration, false);
  writeUid(w, v.uid);
  if (v.signalPayload === undefined || v.signalPayload === null) w.fail('required element is missing', 'signalPayload');
  w.element('ei:signalPayload', () => writePayloadFloat(w, v.signalPayload));
}

function readEventIntervals(r: ElementReader): EventInterval[] {
  return r.one('strm', 'intervals').many('ei', 'interval', 1).map(readEventInterval);
}

function writeEventIntervals(w: ElementWriter, intervals: EventInterval[]): void {
  if (intervals === undefined || intervals === null) w.fail('required element is missing', 'intervals');
  w.element('strm:intervals', () => w.repeated('ei:interval', intervals, (i) => writeEventInterval(w, i), 1));
}

// ------------------------------------------------------------------ signals and baseline

function readEventSignal(r: ElementReader): EventSignal {
  const out: EventSignal = {
    intervals: readEventIntervals(r),
    signalName: r.req('ei', 'signalName', asEnum(SIGNAL_NAME)),
    signalType: r.req('ei', 'signalType', asEnum(SIGNAL_TYPE)),
    signalID: r.req('ei', 'signalID', asString),
  };
  const target = r.opt('ei', 'eiTarget');
  if (target !== undefined) out.eiTarget = readTarget(target);
  put(out, 'itemBase', readItemBase(r));
  const current = r.opt('ei', 'currentValue');
  if (current !== undefined) out.currentValue = readPayloadFloat(current);
  return out;
}

function writeEventSignal(w: ElementWriter, v: EventSignal): void {
  writeEventIntervals(w, v.intervals);
  w.optComplex('ei:eiTarget', v.eiTarget, (t) => writeTarget(w, t));
  w.simple('ei:signalName', v.signalName, enumText(SIGNAL_NAME));
  w.simple('ei:signalType', v.signalType, enumText(SIGNAL_TYPE));
  w.simple('ei:signalID', v.signalID, stringText);
  writeItemBase(w, v.itemBase);
  if (v.currentValue !== undefined && v.currentValue !== null) {
    w.element('ei:currentValue', () => writePayloadFloat(w, v.currentValue as number));
  }
}

function readEventBaseline(r: ElementReader): EventBaseline {
  const out: EventBaseline = {
    dtstart: readDtstart(r.one('xcal', 'dtstart')) as number,
    duration: readDurationProp(r.one('xcal', 'duration')) as number,
    intervals: readEventIntervals(r),
    baselineID: r.req('ei', 'baselineID', asString),
    baselineName: r.req('ei', 'baselineName', asString),
  };
  put(out, 'resourceID', r.list('ei', 'resourceID', asString));
  put(out, 'itemBase', readItemBase(r));
  return out;
}

function writeEventBaseline(w: ElementWriter, v: EventBaseline): void {
  writeDtstart(w, v.dtstart, true);
  writeDurationProp(w, 'xcal:duration', v.duration, true);
  writeEventIntervals(w, v.intervals);
  w.simple('ei:baselineID', v.baselineID, stringText);
  w.simpleList('ei:resourceID', v.resourceID, stringText);
  w.simple('ei:baselineName', v.baselineName, stringText);
  writeItemBase(w, v.itemBase);
}

// ------------------------------------------------------------------ descriptor and event

function readEventDescriptor(r: ElementReader): EventDescriptor {
  const out: EventDescriptor = {
    eventID: r.req('ei', 'eventID', asString),
    modificationNumber: r.req('ei', 'modificationNumber', (raw) => parseUnsigned(raw)),
    marketContext: r.one('ei', 'eiMarketContext').req('emix', 'marketContext', asUri),
    createdDateTime: r.req('ei', 'createdDateTime', parseDateTime),
    eventStatus: r.req('ei', 'eventStatus', asEnum(EVENT_STATUS)),
  };
  put(out, 'modificationDateTime', r.optValue('ei', 'modificationDateTime', parseDateTime));
  put(out, 'modificationReason', r.optValue('ei', 'modificationReason', asString));
  put(
    out,
    'priority',
    r.optValue('ei', 'priority', (raw) => parseUnsigned(raw)),
  );
  put(out, 'testEvent', r.optValue('ei', 'testEvent', asString));
  put(out, 'vtnComment', r.optValue('ei', 'vtnComment', asString));
  return out;
}

function writeEventDescriptor(w: ElementWriter, v: EventDescriptor): void {
  w.simple('ei:eventID', v.eventID, stringText);
  w.simple('ei:modificationNumber', v.modificationNumber, (x) => formatUnsigned(x));
  w.optSimple('ei:modificationDateTime', v.modificationDateTime, formatDateTime);
  w.optSimple('ei:modificationReason', v.modificationReason, stringText);
  w.optSimple('ei:priority', v.priority, (x) => formatUnsigned(x));
  if (v.marketContext === undefined || v.marketContext === null)
    w.fail('required element is missing', 'eiMarketContext');
  w.element('ei:eiMarketContext', () => w.simple('emix:marketContext', v.marketContext, uriText));
  w.simple('ei:createdDateTime', v.createdDateTime, formatDateTime);
  w.simple('ei:eventStatus', v.eventStatus, enumText(EVENT_STATUS));
  w.optSimple('ei:testEvent', v.testEvent, stringText);
  w.optSimple('ei:vtnComment', v.vtnComment, stringText);
}

export function readOadrEvent(r: ElementReader): OadrEvent {
  const event = r.one('ei', 'eiEvent');
  const period = event.one('ei', 'eiActivePeriod');
  period.one('xcal', 'components'); // required by the schema, empty in 2.0b
  const signals = event.one('ei', 'eiEventSignals');
  const out: OadrEvent = {
    eventDescriptor: readEventDescriptor(event.one('ei', 'eventDescriptor')),
    eiActivePeriod: readProperties(period.one('xcal', 'properties')),
    eiEventSignals: signals.many('ei', 'eiEventSignal', 1).map(readEventSignal),
    eiTarget: readTarget(event.one('ei', 'eiTarget')),
    oadrResponseRequired: r.req('oadr', 'oadrResponseRequired', asEnum(RESPONSE_REQUIRED)),
  };
  const baseline = signals.opt('ei', 'eiEventBaseline');
  if (baseline !== undefined) out.eiEventBaseline = readEventBaseline(baseline);
  return out;
}

export function writeOadrEvent(w: ElementWriter, v: OadrEvent): void {
  w.element('ei:eiEvent', () => {
    w.complex('ei:eventDescriptor', v.eventDescriptor, (d) => writeEventDescriptor(w, d));
    w.complex('ei:eiActivePeriod', v.eiActivePeriod, (p) => {
      w.element('xcal:properties', () => writeProperties(w, p));
      w.raw('<xcal:components/>');
    });
    w.element('ei:eiEventSignals', () => {
      w.repeated('ei:eiEventSignal', v.eiEventSignals, (s) => writeEventSignal(w, s), 1);
      w.optComplex('ei:eiEventBaseline', v.eiEventBaseline, (b) => writeEventBaseline(w, b));
    });
    w.complex('ei:eiTarget', v.eiTarget, (t) => writeTarget(w, t));
  });
  w.simple('oadr:oadrResponseRequired', v.oadrResponseRequired, enumText(RESPONSE_REQUIRED));
}

// ------------------------------------------------------------------ oadrCreatedEvent responses

export function readEventResponse(r: ElementReader): EventResponse {
  const out: EventResponse = {
    responseCode: r.req('ei', 'responseCode', parseResponseCode),
    requestID: r.req('pyld', 'requestID', asString),
    qualifiedEventID: readQualifiedEventID(r.one('ei', 'qualifiedEventID')),
    optType: r.req('ei', 'optType', asEnum(OPT_TYPE)),
  };
  put(out, 'responseDescription', r.optValue('ei', 'responseDescription', asString));
  return out;
}

export function writeEventResponse(w: ElementWriter, v: EventResponse): void {
  w.simple('ei:responseCode', v.responseCode, formatResponseCode);
  w.optSimple('ei:responseDescription', v.responseDescription, stringText);
  w.simple('pyld:requestID', v.requestID, stringText);
  w.complex('ei:qualifiedEventID', v.qualifiedEventID, (q) => writeQualifiedEventID(w, q));
  w.simple('ei:optType', v.optType, enumText(OPT_TYPE));
}

export { readEiResponse, writeEiResponse };
