/**
 * GET /api/events/{id}/reports: what the gateway sent upstream about an event, newest first, from
 * the audit rows the utility seams write:
 * - 'ieee2030_5.response' rows on the event: each IEEE 2030.5 Response posted for its DERControl
 *   (status, mRID, EndDevice LFDI, accepted; seams/ieee2030-5-response-audit.ts);
 * - 'openadr3.report' rows on the event (an OpenADR 3 report names its event;
 *   seams/openadr-report-audit.ts);
 * - for an event from OpenADR 2.0b, the VEN's 'openadr2b.report' rows (2.0b telemetry is requested of
 *   the VEN, not per event) whose reported data overlaps the event's window: from its first interval's
 *   start to its last interval's end, or to its cancellation or supersession when earlier.
 * Other events answer []. The event's effect on the devices is GET /api/events/{id}/decisions.
 */
import type { ProgramEvent } from '@gridseam/model';
import Type from 'typebox';
import { IEEE2030_5_RESPONSE_ACTION } from '../../seams/ieee2030-5-response-audit.ts';
import { OPENADR2B_REPORT_ACTION, OPENADR3_REPORT_ACTION, VEN_TARGET_TYPE } from '../../seams/openadr-report-audit.ts';
import type { AuditEntry, AuditFilter } from '../../store/types.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import type { Api, RouteContext } from './context.ts';

const DEFAULT_LIMIT = 100;
const PAGE = 1000;
/** Audit rows looked at per request at most (a 24 h event reporting every 10 s is 17,280). */
const MAX_SCANNED = 200_000;
/** A 2.0b report is sent after the data it carries: rows this long after the window are looked at too. */
const SEND_GRACE_MS = 60 * 60 * 1000;

const EventReportsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'At most this many (default 100)' })),
});

/** An open record: the audit detail (OpenadrReportDetail, SepResponseDetail). */
const ReportRow = Type.Object(
  {
    seq: Type.Integer(),
    at: Type.Integer(),
    action: Type.String(),
  },
  { additionalProperties: true },
);

/** The actions of rows written on the event itself. */
const ON_EVENT_ACTIONS: ReadonlySet<string> = new Set([
  IEEE2030_5_RESPONSE_ACTION,
  OPENADR3_REPORT_ACTION,
  OPENADR2B_REPORT_ACTION,
]);

type ListAudit = (filter: AuditFilter) => Promise<AuditEntry[]>;

/** The newest `limit` rows of `filter` that `keep` accepts, oldest first (the audit log pages by seq). */
async function newest(
  list: ListAudit,
  filter: AuditFilter,
  keep: (entry: AuditEntry) => boolean,
  limit: number,
): Promise<AuditEntry[]> {
  let kept: AuditEntry[] = [];
  for (let offset = 0; offset < MAX_SCANNED; offset += PAGE) {
    const page = await list({ ...filter, limit: PAGE, offset });
    for (const entry of page) if (keep(entry)) kept.push(entry);
    if (kept.length > 2 * limit) kept = kept.slice(-limit);
    if (page.length < PAGE) break;
  }
  return kept.slice(-limit);
}

/** [start, end) of an event: its intervals, cut at a cancellation or supersession. */
export function eventWindow(event: ProgramEvent): { start: number; end: number } | undefined {
  if (event.intervals.length === 0) return undefined;
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

function overlaps(entry: AuditEntry, window: { start: number; end: number }): boolean {
  const period = entry.detail?.period as { start?: unknown; end?: unknown } | undefined;
  if (typeof period?.start === 'number' && typeof period.end === 'number')
    // A one-shot report's span is an instant: it counts from the window's first millisecond.
    return period.start < window.end && Math.max(period.end, period.start + 1) > window.start;
  return entry.at >= window.start && entry.at < window.end;
}

export function eventReportRoutes(app: Api, { registry }: RouteContext): void {
  const list: ListAudit = (filter) => registry.listAudit(filter);
  app.get(
    '/api/events/:id/reports',
    {
      schema: {
        tags: ['events'],
        operationId: 'listEventReports',
        summary:
          'What was sent upstream for an event, newest first: IEEE 2030.5 Responses (status, mRID, EndDevice LFDI, accepted) and OpenADR reports (name, span, values summary, the VTN answer; 2.0b: the VEN reports overlapping the event)',
        params: IdParams,
        querystring: EventReportsQuery,
        response: { 200: Type.Array(ReportRow), ...errorResponses },
      },
    },
    async (request) => {
      const event = await registry.getEvent(request.params.id); // 404 for an unknown event
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const rows = await newest(
        list,
        { targetType: 'event', targetId: event.id },
        (entry) => ON_EVENT_ACTIONS.has(entry.action),
        limit,
      );
      const window = event.source === 'openadr2b' ? eventWindow(event) : undefined;
      if (window !== undefined)
        rows.push(
          ...(await newest(
            list,
            { targetType: VEN_TARGET_TYPE, from: window.start, to: window.end + SEND_GRACE_MS },
            (entry) => entry.action === OPENADR2B_REPORT_ACTION && overlaps(entry, window),
            limit,
          )),
        );
      return rows
        .sort((a, b) => b.seq - a.seq)
        .slice(0, limit)
        .map((entry) => ({ seq: entry.seq, at: entry.at, action: entry.action, ...entry.detail }));
    },
  );
}
