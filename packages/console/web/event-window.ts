import type { ProgramEvent } from './types.ts';

/** [start, end) of an event: its intervals, cut short at a cancellation or supersession. */
export function eventSpan(event: ProgramEvent): { start: number; end: number } {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const interval of event.intervals) {
    start = Math.min(start, interval.start);
    end = Math.max(end, interval.start + interval.durationS * 1000);
  }
  for (const change of event.statusHistory)
    if ((change.status === 'cancelled' || change.status === 'superseded') && change.at < end)
      end = Math.max(start, change.at);
  return { start, end };
}

/** The signal kinds of an event, each once, in order of appearance. */
export function signalKinds(event: ProgramEvent): string[] {
  return [...new Set(event.intervals.flatMap((interval) => interval.signals.map((signal) => signal.kind)))];
}

/** Statuses an operator may end an event from (docs/reference/api.md, Events: allowed changes). */
export const ENDABLE_STATUSES = new Set(['scheduled', 'active', 'opted-out']);

/** Event sources in a fixed order for the timeline's lanes; unknown sources follow, sorted. */
export const SOURCE_ORDER = ['ieee2030.5', 'openadr3', 'openadr2b', 'ocpp', 'market', 'operator'];

export const SOURCE_LABELS: Readonly<Record<string, string>> = {
  'ieee2030.5': 'IEEE 2030.5',
  openadr3: 'OpenADR 3',
  openadr2b: 'OpenADR 2.0b',
  ocpp: 'OCPP',
  market: 'Market',
  operator: 'Operator / manual',
};

/** IEEE 2030.5 Response.status names (IEEE 2030.5-2018 Table 27). */
export const RESPONSE_STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'event received',
  2: 'event started',
  3: 'event completed',
  4: 'user opt-out',
  5: 'user opt-in',
  6: 'event cancelled',
  7: 'event superseded',
  8: 'partial opt-out',
  9: 'partial opt-in',
  10: 'completed, no user participation',
  11: 'user acknowledge',
  12: 'user cannot display',
  13: 'aborted by server',
  14: 'aborted by program',
  252: 'rejected: not applicable',
  253: 'rejected: invalid',
  254: 'rejected: expired',
};
