/**
 * EiReport on the VEN side, the pure parts (OpenADR 2.0b Profile Specification §8.3):
 * - the VEN's metadata reports (METADATA_TELEMETRY_USAGE, METADATA_TELEMETRY_STATUS, ...) as the oadrReports of
 *   its oadrRegisterReport, with reportRequestID "0" (conformance rule 311);
 * - a VTN's oadrReportRequest checked against that metadata: its reportSpecifierID must name one of our
 *   metadata reports and its specifierPayload rIDs must be among that report's descriptions (the known rIDs are
 *   kept; none known refuses the request); reportSpecifierID METADATA asks for the metadata again;
 * - the schedule of an accepted request: sample every `granularity`, send every `reportBackDuration` (both 0:
 *   one-shot, now), inside the reportInterval when one is given (duration 0: no end);
 * - oadrUpdateReport bodies from buffered samples: one ei:interval per sample instant, its rIDs' payloads inside.
 */
import type {
  DataQuality,
  OadrReport,
  ReportDescription,
  ReportInterval,
  ReportName,
  ReportPayloadValue,
  ReportRequest,
} from '../codec/types.ts';

/** One metadata report the VEN offers. */
export interface Ven2bReportMetadata {
  reportSpecifierId: string;
  /** METADATA_TELEMETRY_USAGE, METADATA_TELEMETRY_STATUS, ... */
  reportName: ReportName;
  /** How far back the VEN keeps data (the oadrReport duration), seconds. Default 3600. */
  durationS?: number;
  /** At least one data point. */
  descriptions: ReportDescription[];
}

/** One value of one data point at one instant, from the VEN's telemetry source. */
export interface Ven2bSample {
  rID: string;
  /** A number is sent as payloadFloat. */
  value: number | ReportPayloadValue;
  quality?: DataQuality;
  /** 0..100. */
  confidence?: number;
}

/** What the telemetry source is asked for. */
export interface Ven2bTelemetryRequest {
  reportRequestId: string;
  reportSpecifierId: string;
  reportName: ReportName;
  rIds: readonly string[];
  /** Epoch ms of the sample. */
  at: number;
}

export type Ven2bTelemetrySource = (
  request: Ven2bTelemetryRequest,
) => Promise<readonly Ven2bSample[]> | readonly Ven2bSample[];

/** A VTN request the VEN accepted. */
export interface AcceptedReportRequest {
  reportRequestId: string;
  metadata: Ven2bReportMetadata;
  rIds: string[];
  granularityS: number;
  reportBackS: number;
  /** Epoch ms: first sample (default: now). */
  start?: number;
  /** Epoch ms: no sample at or after this. */
  end?: number;
}

export type ReportRequestCheck =
  | { kind: 'accepted'; request: AcceptedReportRequest }
  | { kind: 'metadata' }
  | { kind: 'refused'; reportRequestId: string; reason: string };

export const DEFAULT_METADATA_DURATION_S = 3600;

/** The data report name of a metadata report name (METADATA_TELEMETRY_USAGE -> TELEMETRY_USAGE). */
export function dataReportName(name: ReportName): ReportName {
  return name.startsWith('METADATA_') ? (name.slice('METADATA_'.length) as ReportName) : name;
}

/** The oadrReports of the VEN's oadrRegisterReport (reportRequestID "0", rule 311). */
export function metadataReports(metadata: readonly Ven2bReportMetadata[], now: number): OadrReport[] {
  return metadata.map((report) => ({
    duration: report.durationS ?? DEFAULT_METADATA_DURATION_S,
    oadrReportDescription: report.descriptions,
    reportRequestID: '0',
    reportSpecifierID: report.reportSpecifierId,
    reportName: report.reportName,
    createdDateTime: now,
  }));
}

export function checkReportRequest(
  request: ReportRequest,
  metadata: readonly Ven2bReportMetadata[],
): ReportRequestCheck {
  const specifier = request.reportSpecifier;
  if (specifier.reportSpecifierID === 'METADATA') return { kind: 'metadata' };
  const report = metadata.find((m) => m.reportSpecifierId === specifier.reportSpecifierID);
  if (report === undefined)
    return {
      kind: 'refused',
      reportRequestId: request.reportRequestID,
      reason: `no report ${specifier.reportSpecifierID}`,
    };
  const known = new Set(report.descriptions.map((d) => d.rID));
  const rIds = [...new Set(specifier.specifierPayload.map((p) => p.rID))].filter((rID) => known.has(rID));
  if (rIds.length === 0)
    return {
      kind: 'refused',
      reportRequestId: request.reportRequestID,
      reason: `none of the rIDs asked for is in report ${specifier.reportSpecifierID}`,
    };
  const interval = specifier.reportInterval;
  return {
    kind: 'accepted',
    request: {
      reportRequestId: request.reportRequestID,
      metadata: report,
      rIds,
      granularityS: Math.max(0, specifier.granularity),
      reportBackS: Math.max(0, specifier.reportBackDuration),
      ...(interval === undefined ? {} : { start: interval.dtstart }),
      ...(interval === undefined || interval.duration <= 0 ? {} : { end: interval.dtstart + interval.duration * 1000 }),
    },
  };
}

/** Seconds between samples of a request (a one-shot request samples once). */
export function samplePeriodS(request: AcceptedReportRequest): number {
  return request.granularityS > 0 ? request.granularityS : request.reportBackS;
}

/** Samples per oadrUpdateReport: reportBackDuration / granularity, at least 1. */
export function samplesPerReport(request: AcceptedReportRequest): number {
  if (request.granularityS <= 0 || request.reportBackS <= 0) return 1;
  return Math.max(1, Math.round(request.reportBackS / request.granularityS));
}

export function isOneShot(request: AcceptedReportRequest): boolean {
  return request.granularityS <= 0 && request.reportBackS <= 0;
}

/** Buffered samples of one instant. */
export interface SampledInterval {
  at: number;
  samples: readonly Ven2bSample[];
}

function payloadOf(value: number | ReportPayloadValue): ReportPayloadValue {
  return typeof value === 'number' ? { kind: 'payloadFloat', value } : value;
}

/** The oadrReport of an oadrUpdateReport from buffered samples (intervals without a sample are left out). */
export function updateReport(
  request: AcceptedReportRequest,
  sampled: readonly SampledInterval[],
  reportId: string,
  now: number,
): OadrReport | undefined {
  const wanted = new Set(request.rIds);
  const intervals: ReportInterval[] = [];
  for (const entry of sampled) {
    const payloads = entry.samples
      .filter((s) => wanted.has(s.rID) && (typeof s.value !== 'number' || Number.isFinite(s.value)))
      .map((s) => ({
        rID: s.rID,
        ...(s.confidence === undefined ? {} : { confidence: Math.max(0, Math.min(100, Math.round(s.confidence))) }),
        payload: payloadOf(s.value),
        ...(s.quality === undefined ? {} : { oadrDataQuality: s.quality }),
      }));
    if (payloads.length === 0) continue;
    intervals.push({
      dtstart: entry.at,
      ...(request.granularityS > 0 ? { duration: request.granularityS } : {}),
      oadrReportPayload: payloads,
    });
  }
  if (intervals.length === 0) return undefined;
  const first = intervals[0]?.dtstart ?? now;
  return {
    dtstart: first,
    ...(request.granularityS > 0 ? { duration: request.granularityS * intervals.length } : {}),
    intervals,
    eiReportID: reportId,
    reportRequestID: request.reportRequestId,
    reportSpecifierID: request.metadata.reportSpecifierId,
    reportName: dataReportName(request.metadata.reportName),
    createdDateTime: now,
  };
}
