/**
 * The reports the OpenADR VENs send, as audit rows: what the operator API's
 * `GET /api/events/{id}/reports` lists (api/routes/event-reports.ts).
 *
 * - OpenADR 3: a report always belongs to one event (report.eventID, Definition §Reports), so each
 *   report is a row 'openadr3.report' on that event (targetType 'event', the canonical event id).
 * - OpenADR 2.0b: reports are the VEN's, not an event's: the VTN asks the VEN for registered
 *   telemetry (oadrCreateReport, 2.0b Profile §8) whatever events run. Each report is one row
 *   'openadr2b.report' on the VEN (targetType 'ven', targetId the configured venName); the route
 *   shows a 2.0b event the VEN's reports whose data overlaps the event's window.
 *
 * Every row's detail has the same shape (`OpenadrReportDetail`): the report's name, its interval
 * span, a summary of the values per payload type (3.x) or rID (2.0b) and the VTN's answer.
 */

export const OPENADR3_REPORT_ACTION = 'openadr3.report';
export const OPENADR2B_REPORT_ACTION = 'openadr2b.report';
/** Target type of the rows of reports that belong to a VEN rather than an event (2.0b telemetry). */
export const VEN_TARGET_TYPE = 'ven';

/** Keys (payload types, rIDs) and resources listed per row at most; the rest is counted. */
const MAX_LISTED = 100;

/** Numbers: count, min, max, mean; anything else (a status, a string): count and the last value. */
export interface ValueSummary {
  count: number;
  min?: number;
  max?: number;
  mean?: number;
  last?: unknown;
}

export interface OpenadrReportDetail {
  protocol: 'openadr3' | 'openadr2b';
  /** 3.x reportName; 2.0b ei:reportName (TELEMETRY_USAGE, TELEMETRY_STATUS, ...). */
  reportName?: string;
  /** 3.x: the payload types asked for by the event's report descriptors. */
  payloadTypes?: string[];
  /** Time span of the data reported, epoch ms. */
  period?: { start: number; end: number };
  /** Intervals reported (3.x: distinct interval ids). */
  intervals: number;
  /** Resources reported (3.x resourceName, 2.0b resourceID), at most 100 listed. */
  resources: string[];
  resourceCount: number;
  /** Per payload type (3.x) or rID (2.0b), at most 100 keys. */
  values: Record<string, ValueSummary>;
  valuesTruncated?: boolean;
  /** Whether the VTN answered the report (false: not sent, see reason). */
  sent: boolean;
  /** Whether the VTN took it (3.x 2xx; 2.0b responseCode 200). */
  accepted: boolean;
  /** The VTN's answer: 3.x HTTP status (+ reportID or the problem); 2.0b eiResponse. */
  answer?: Record<string, unknown>;
  reason?: string;
  [extra: string]: unknown;
}

/** Accumulates values per key into `ValueSummary`s (a bounded number of keys). */
export class ValueSummaries {
  readonly #sums = new Map<string, { count: number; min: number; max: number; total: number; numbers: number }>();
  readonly #last = new Map<string, unknown>();
  #truncated = false;

  add(key: string, value: unknown): void {
    let entry = this.#sums.get(key);
    if (entry === undefined) {
      if (this.#sums.size >= MAX_LISTED) {
        this.#truncated = true;
        return;
      }
      entry = { count: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, total: 0, numbers: 0 };
      this.#sums.set(key, entry);
    }
    entry.count++;
    if (typeof value === 'number' && Number.isFinite(value)) {
      entry.numbers++;
      entry.min = Math.min(entry.min, value);
      entry.max = Math.max(entry.max, value);
      entry.total += value;
    } else this.#last.set(key, value);
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  toJSON(): Record<string, ValueSummary> {
    const out: Record<string, ValueSummary> = {};
    for (const [key, entry] of this.#sums) {
      const summary: ValueSummary = { count: entry.count };
      if (entry.numbers > 0) {
        summary.min = entry.min;
        summary.max = entry.max;
        summary.mean = entry.total / entry.numbers;
      }
      if (this.#last.has(key)) summary.last = this.#last.get(key);
      out[key] = summary;
    }
    return out;
  }
}

/** The resources of a row: at most 100 listed, all counted. */
export function listedResources(names: readonly string[]): { resources: string[]; resourceCount: number } {
  return { resources: names.slice(0, MAX_LISTED), resourceCount: names.length };
}
