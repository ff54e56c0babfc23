/** EiReport structures: oadrReport (metadata and data), descriptions, report payloads, report requests. */
import {
  readDtstart,
  readDurationProp,
  readItemBase,
  readProperties,
  readTarget,
  readUid,
  uriText,
  writeDtstart,
  writeDurationProp,
  writeItemBase,
  writeProperties,
  writeTarget,
  writeUid,
} from './common.ts';
import { DATA_QUALITY, READING_TYPE, REPORT_NAME, REPORT_TYPE } from './enums.ts';
import { asEnum, asString, asUri, type ElementReader, put } from './reader.ts';
import type {
  CancelReportBody,
  LoadControlState,
  LoadControlStateValue,
  OadrReport,
  ReportDescription,
  ReportInterval,
  ReportPayload,
  ReportPayloadValue,
  ReportRequest,
  ReportSpecifier,
  SamplingRate,
  SpecifierPayload,
} from './types.ts';
import {
  describe,
  formatBoolean,
  formatDateTime,
  formatDuration,
  formatFloat,
  formatUnsigned,
  parseBoolean,
  parseDateTime,
  parseDuration,
  parseFloatValue,
  parseUnsigned,
} from './values.ts';
import { type ElementWriter, enumText, stringText } from './writer.ts';

// ------------------------------------------------------------------ report payloads

const LOAD_CONTROL_KEYS = ['oadrCapacity', 'oadrLevelOffset', 'oadrPercentOffset', 'oadrSetPoint'] as const;

function readLoadControlValue(r: ElementReader): LoadControlStateValue {
  const out: LoadControlStateValue = { oadrCurrent: r.req('oadr', 'oadrCurrent', parseFloatValue) };
  put(out, 'oadrMin', r.optValue('oadr', 'oadrMin', parseFloatValue));
  put(out, 'oadrMax', r.optValue('oadr', 'oadrMax', parseFloatValue));
  put(out, 'oadrNormal', r.optValue('oadr', 'oadrNormal', parseFloatValue));
  return out;
}

function writeLoadControlValue(w: ElementWriter, v: LoadControlStateValue): void {
  w.optSimple('oadr:oadrMin', v.oadrMin, formatFloat);
  w.optSimple('oadr:oadrMax', v.oadrMax, formatFloat);
  w.simple('oadr:oadrCurrent', v.oadrCurrent, formatFloat);
  w.optSimple('oadr:oadrNormal', v.oadrNormal, formatFloat);
}

function readPayloadValue(r: ElementReader): ReportPayloadValue {
  const float = r.opt('ei', 'payloadFloat');
  const status = r.opt('oadr', 'oadrPayloadResourceStatus');
  if (float !== undefined && status !== undefined)
    r.fail('more than one payload (payloadFloat and oadrPayloadResourceStatus)');
  if (float !== undefined) return { kind: 'payloadFloat', value: float.req('ei', 'value', parseFloatValue) };
  if (status === undefined)
    return r.fail('required element ei:payloadFloat or oadr:oadrPayloadResourceStatus is missing');
  const out: ReportPayloadValue = {
    kind: 'oadrPayloadResourceStatus',
    oadrOnline: status.req('oadr', 'oadrOnline', parseBoolean),
    oadrManualOverride: status.req('oadr', 'oadrManualOverride', parseBoolean),
  };
  const state = status.opt('oadr', 'oadrLoadControlState');
  if (state !== undefined) {
    const loadControl: LoadControlState = {};
    for (const key of LOAD_CONTROL_KEYS) {
      const item = state.opt('oadr', key);
      if (item !== undefined) loadControl[key] = readLoadControlValue(item);
    }
    out.oadrLoadControlState = loadControl;
  }
  return out;
}

function writePayloadValue(w: ElementWriter, v: ReportPayloadValue): void {
  if (v === undefined || v === null) w.fail('required element is missing', 'payload');
  if (v.kind === 'payloadFloat') {
    w.element('ei:payloadFloat', () => w.simple('ei:value', v.value, formatFloat));
    return;
  }
  if (v.kind !== 'oadrPayloadResourceStatus')
    w.fail(`unknown payload kind ${describe((v as { kind?: unknown }).kind)}`, 'payload');
  w.element('oadr:oadrPayloadResourceStatus', () => {
    w.simple('oadr:oadrOnline', v.oadrOnline, formatBoolean);
    w.simple('oadr:oadrManualOverride', v.oadrManualOverride, formatBoolean);
    w.optComplex('oadr:oadrLoadControlState', v.oadrLoadControlState, (state) => {
      for (const key of LOAD_CONTROL_KEYS) {
        w.optComplex(`oadr:${key}`, state[key], (x) => writeLoadControlValue(w, x));
      }
    });
  });
}

function readReportPayload(r: ElementReader): ReportPayload {
  const out: ReportPayload = { rID: r.req('ei', 'rID', asString), payload: readPayloadValue(r) };
  put(
    out,
    'confidence',
    r.optValue('ei', 'confidence', (raw) => parseUnsigned(raw, 100)),
  );
  put(out, 'accuracy', r.optValue('ei', 'accuracy', parseFloatValue));
  put(out, 'oadrDataQuality', r.optValue('oadr', 'oadrDataQuality', asEnum(DATA_QUALITY)));
  return out;
}

function writeReportPayload(w: ElementWriter, v: ReportPayload): void {
  w.simple('ei:rID', v.rID, stringText);
  w.optSimple('ei:confidence', v.confidence, (x) => formatUnsigned(x, 100));
  w.optSimple('ei:accuracy', v.accuracy, formatFloat);
  writePayloadValue(w, v.payload);
  w.optSimple('oadr:oadrDataQuality', v.oadrDataQuality, enumText(DATA_QUALITY));
}

function readReportInterval(r: ElementReader): ReportInterval {
  const out: ReportInterval = { oadrReportPayload: r.many('oadr', 'oadrReportPayload', 1).map(readReportPayload) };
  put(out, 'dtstart', readDtstart(r.opt('xcal', 'dtstart')));
  put(out, 'duration', readDurationProp(r.opt('xcal', 'duration')));
  put(out, 'uid', readUid(r.opt('xcal', 'uid')));
  return out;
}

function writeReportInterval(w: ElementWriter, v: ReportInterval): void {
  writeDtstart(w, v.dtstart, false);
  writeDurationProp(w, 'xcal:duration', v.duration, false);
  writeUid(w, v.uid);
  w.repeated('oadr:oadrReportPayload', v.oadrReportPayload, (p) => writeReportPayload(w, p), 1);
}

// ------------------------------------------------------------------ descriptions and reports

function readSamplingRate(r: ElementReader): SamplingRate {
  return {
    oadrMinPeriod: r.req('oadr', 'oadrMinPeriod', parseDuration),
    oadrMaxPeriod: r.req('oadr', 'oadrMaxPeriod', parseDuration),
    oadrOnChange: r.req('oadr', 'oadrOnChange', parseBoolean),
  };
}

function readReportDescription(r: ElementReader): ReportDescription {
  const out: ReportDescription = {
    rID: r.req('ei', 'rID', asString),
    reportType: r.req('ei', 'reportType', asEnum(REPORT_TYPE)),
    readingType: r.req('ei', 'readingType', asEnum(READING_TYPE)),
  };
  const subject = r.opt('ei', 'reportSubject');
  if (subject !== undefined) out.reportSubject = readTarget(subject);
  const source = r.opt('ei', 'reportDataSource');
  if (source !== undefined) out.reportDataSource = readTarget(source);
  put(out, 'itemBase', readItemBase(r));
  put(out, 'marketContext', r.optValue('emix', 'marketContext', asUri));
  const rate = r.opt('oadr', 'oadrSamplingRate');
  if (rate !== undefined) out.oadrSamplingRate = readSamplingRate(rate);
  return out;
}

function writeReportDescription(w: ElementWriter, v: ReportDescription): void {
  w.simple('ei:rID', v.rID, stringText);
  w.optComplex('ei:reportSubject', v.reportSubject, (t) => writeTarget(w, t));
  w.optComplex('ei:reportDataSource', v.reportDataSource, (t) => writeTarget(w, t));
  w.simple('ei:reportType', v.reportType, enumText(REPORT_TYPE));
  writeItemBase(w, v.itemBase);
  w.simple('ei:readingType', v.readingType, enumText(READING_TYPE));
  w.optSimple('emix:marketContext', v.marketContext, uriText);
  w.optComplex('oadr:oadrSamplingRate', v.oadrSamplingRate, (s) => {
    w.simple('oadr:oadrMinPeriod', s.oadrMinPeriod, formatDuration);
    w.simple('oadr:oadrMaxPeriod', s.oadrMaxPeriod, formatDuration);
    w.simple('oadr:oadrOnChange', s.oadrOnChange, formatBoolean);
  });
}

export function readOadrReport(r: ElementReader): OadrReport {
  const out: OadrReport = {
    reportRequestID: r.req('ei', 'reportRequestID', asString),
    reportSpecifierID: r.req('ei', 'reportSpecifierID', asString),
    createdDateTime: r.req('ei', 'createdDateTime', parseDateTime),
  };
  put(out, 'dtstart', readDtstart(r.opt('xcal', 'dtstart')));
  put(out, 'duration', readDurationProp(r.opt('xcal', 'duration')));
  const intervals = r.opt('strm', 'intervals');
  if (intervals !== undefined) out.intervals = intervals.many('ei', 'interval', 1).map(readReportInterval);
  put(out, 'eiReportID', r.optValue('ei', 'eiReportID', asString));
  put(out, 'oadrReportDescription', r.listOf('oadr', 'oadrReportDescription', readReportDescription));
  put(out, 'reportName', r.optValue('ei', 'reportName', asEnum(REPORT_NAME)));
  return out;
}

export function writeOadrReport(w: ElementWriter, v: OadrReport): void {
  writeDtstart(w, v.dtstart, false);
  writeDurationProp(w, 'xcal:duration', v.duration, false);
  if (v.intervals !== undefined && v.intervals !== null) {
    w.element('strm:intervals', () => w.repeated('ei:interval', v.intervals, (i) => writeReportInterval(w, i), 1));
  }
  w.optSimple('ei:eiReportID', v.eiReportID, stringText);
  w.repeated('oadr:oadrReportDescription', v.oadrReportDescription, (d) => writeReportDescription(w, d));
  w.simple('ei:reportRequestID', v.reportRequestID, stringText);
  w.simple('ei:reportSpecifierID', v.reportSpecifierID, stringText);
  w.optSimple('ei:reportName', v.reportName, enumText(REPORT_NAME));
  w.simple('ei:createdDateTime', v.createdDateTime, formatDateTime);
}

// ------------------------------------------------------------------ report requests

function readSpecifierPayload(r: ElementReader): SpecifierPayload {
  const out: SpecifierPayload = {
    rID: r.req('ei', 'rID', asString),
    readingType: r.req('ei', 'readingType', asEnum(READING_TYPE)),
  };
  put(out, 'itemBase', readItemBase(r));
  return out;
}

function readReportSpecifier(r: ElementReader): ReportSpecifier {
  const out: ReportSpecifier = {
    reportSpecifierID: r.req('ei', 'reportSpecifierID', asString),
    granularity: readDurationProp(r.one('xcal', 'granularity')) as number,
    reportBackDuration: readDurationProp(r.one('ei', 'reportBackDuration')) as number,
    specifierPayload: r.many('ei', 'specifierPayload', 1).map(readSpecifierPayload),
  };
  const interval = r.opt('ei', 'reportInterval');
  if (interval !== undefined) out.reportInterval = readProperties(interval.one('xcal', 'properties'));
  return out;
}

export function readReportRequest(r: ElementReader): ReportRequest {
  return {
    reportRequestID: r.req('ei', 'reportRequestID', asString),
    reportSpecifier: readReportSpecifier(r.one('ei', 'reportSpecifier')),
  };
}

export function writeReportRequest(w: ElementWriter, v: ReportRequest): void {
  w.simple('ei:reportRequestID', v.reportRequestID, stringText);
  w.complex('ei:reportSpecifier', v.reportSpecifier, (s) => {
    w.simple('ei:reportSpecifierID', s.reportSpecifierID, stringText);
    writeDurationProp(w, 'xcal:granularity', s.granularity, true);
    writeDurationProp(w, 'ei:reportBackDuration', s.reportBackDuration, true);
    w.optComplex('ei:reportInterval', s.reportInterval, (p) =>
      w.element('xcal:properties', () => writeProperties(w, p)),
    );
    w.repeated(
      'ei:specifierPayload',
      s.specifierPayload,
      (p) => {
        w.simple('ei:rID', p.rID, stringText);
        writeItemBase(w, p.itemBase);
        w.simple('ei:readingType', p.readingType, enumText(READING_TYPE));
      },
      1,
    );
  });
}

// ------------------------------------------------------------------ cancel report (also nested in oadrUpdatedReport)

export function readCancelReportBody(r: ElementReader): CancelReportBody {
  const out: CancelReportBody = {
    requestID: r.req('pyld', 'requestID', asString),
    reportRequestID: r.many('ei', 'reportRequestID', 1).map((c) => c.value(asString)),
    reportToFollow: r.req('pyld', 'reportToFollow', parseBoolean),
  };
  put(out, 'venID', r.optValue('ei', 'venID', asString));
  return out;
}

export function writeCancelReportBody(w: ElementWriter, v: CancelReportBody): void {
  w.simple('pyld:requestID', v.requestID, stringText);
  w.simpleList('ei:reportRequestID', v.reportRequestID, stringText, 1);
  w.simple('pyld:reportToFollow', v.reportToFollow, formatBoolean);
  w.optSimple('ei:venID', v.venID, stringText);
}

/** oadr:oadrPendingReports/ei:reportRequestID*. */
export function readPendingReports(r: ElementReader): string[] {
  return r
    .one('oadr', 'oadrPendingReports')
    .many('ei', 'reportRequestID')
    .map((c) => c.value(asString));
}

export function writePendingReports(w: ElementWriter, ids: readonly string[] | undefined): void {
  if (ids === undefined || ids === null) w.fail('required element is missing', 'oadrPendingReports');
  w.element('oadr:oadrPendingReports', () => w.simpleList('ei:reportRequestID', ids, stringText));
}
