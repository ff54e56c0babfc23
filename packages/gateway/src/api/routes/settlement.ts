import Type from 'typebox';
import {
  BASELINE_METHODS,
  checkLocalDate,
  type SettlementCsv,
  type SettlementService,
} from '../../settlement/index.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import { type Api, principalOf } from './context.ts';

/** An open record: the documents of src/settlement/types.ts. */
const Open = Type.Object({}, { additionalProperties: true });
const LocalDateText = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: "A local operating day in the market's time zone, YYYY-MM-DD",
});
const DateParams = Type.Object({ date: LocalDateText }, { additionalProperties: false });
const DateRange = Type.Object(
  {
    from: Type.Optional({ ...LocalDateText, description: 'First day, inclusive (YYYY-MM-DD)' }),
    to: Type.Optional({ ...LocalDateText, description: 'Last day, inclusive (YYYY-MM-DD)' }),
  },
  { additionalProperties: false },
);

/** GET /api/settlement/events/:id/report (event-report.ts); the service checks the values again. */
const EventReportQuery = Type.Object(
  {
    method: Type.Optional(Type.Enum([...BASELINE_METHODS], { description: 'Baseline method (default caiso-10in10)' })),
    obligationKw: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1e9,
        description: 'Obligation of every site, kW (over signals and enrolments)',
      }),
    ),
    penaltyUsdPerKwh: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1e6, description: 'Penalty per kWh of shortfall, USD' }),
    ),
    load: Type.Optional(
      Type.Enum(['net', 'gross'], {
        description:
          "Baseline on the meter's net import (default; battery-dispatch days excluded) or on gross load (meter + storage output)",
      }),
    ),
    holidays: Type.Optional(
      Type.String({
        pattern: '^\\d{4}-\\d{2}-\\d{2}(,\\d{4}-\\d{2}-\\d{2}){0,365}$',
        description: 'Days counted as weekend days, YYYY-MM-DD separated by commas',
      }),
    ),
  },
  { additionalProperties: false },
);

const CSV_EXPORTS: ReadonlyArray<{ kind: SettlementCsv; operationId: string; summary: string }> = [
  {
    kind: 'lines',
    operationId: 'getSettlementLinesCsv',
    summary: 'The settled day’s settlement lines as CSV (charge code, quantity x price = amount)',
  },
  {
    kind: 'ledger',
    operationId: 'getSettlementLedgerCsv',
    summary: 'The settled day’s ledger as CSV (device, interval, program, kWh, kW, degradation)',
  },
  {
    kind: 'reconciliation',
    operationId: 'getSettlementReconciliationCsv',
    summary: 'The settled day’s reconciliation gaps as CSV (settled against metered, per device and interval)',
  },
];

/**
 * Settlement of local operating days (src/settlement/service.ts, docs/reference/api.md "Settlement"): settle a day
 * (operator), the settled days, one day in full, its CSV exports and per-program summaries; and one
 * program event's M&V report (src/settlement/event-report.ts, docs/reference/api.md "Event M&V").
 */
export function settlementRoutes(app: Api, options: { settlement: SettlementService }): void {
  const { settlement } = options;

  app.post(
    '/api/settlement/days/:date',
    {
      schema: {
        tags: ['settlement'],
        operationId: 'settleDay',
        summary:
          'Settles a local day from telemetry, events, awards and the dispatch plan (a running day up to the last whole interval); replaces an earlier settlement of it',
        params: DateParams,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) => settlement.settleDay(checkLocalDate(request.params.date), principalOf(request).name),
  );

  app.get(
    '/api/settlement/days',
    {
      schema: {
        tags: ['settlement'],
        operationId: 'listSettlementDays',
        summary: 'The settled days in [from, to], oldest first: totals, per-program summaries, gaps by kind',
        querystring: DateRange,
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async (request) => settlement.days(request.query.from, request.query.to),
  );

  app.get(
    '/api/settlement/days/:date',
    {
      schema: {
        tags: ['settlement'],
        operationId: 'getSettlementDay',
        summary:
          'A settled day in full: metered intervals, claims, ledger, lines, penalties, reconciliation, summaries',
        params: DateParams,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) => settlement.requireDay(checkLocalDate(request.params.date)),
  );

  for (const { kind, operationId, summary } of CSV_EXPORTS)
    app.get(
      `/api/settlement/days/:date/${kind}.csv`,
      {
        schema: {
          tags: ['settlement'],
          operationId,
          summary,
          params: DateParams,
          response: { 200: Type.String({ description: 'text/csv (RFC 4180, header row)' }), ...errorResponses },
        },
      },
      async (request, reply) => {
        const date = checkLocalDate(request.params.date);
        const text = settlement.csv(await settlement.requireDay(date), kind);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="settlement-${date}-${kind}.csv"`)
          .send(text);
      },
    );

  app.get(
    '/api/settlement/events/:id/report',
    {
      schema: {
        tags: ['settlement'],
        operationId: 'getEventReport',
        summary:
          'M&V of one program event per site, storage device and aggregation: baseline, delivered, performance ratio, shortfall, penalty, payment',
        params: IdParams,
        querystring: EventReportQuery,
        response: { 200: Open, ...errorResponses },
      },
    },
    async (request) => {
      const { method, load, obligationKw, penaltyUsdPerKwh, holidays } = request.query;
      return settlement.eventReport(request.params.id, {
        ...(method === undefined ? {} : { method }),
        ...(load === undefined ? {} : { load }),
        ...(obligationKw === undefined ? {} : { obligationKw }),
        ...(penaltyUsdPerKwh === undefined ? {} : { penaltyUsdPerKwh }),
        ...(holidays === undefined ? {} : { holidays: holidays.split(',') }),
      });
    },
  );

  app.get(
    '/api/settlement/summary',
    {
      schema: {
        tags: ['settlement'],
        operationId: 'getSettlementSummary',
        summary:
          'Per program and settled day in [from, to]: energy, capacity, revenue, penalties and degradation (DailyProgramSummary[])',
        querystring: DateRange,
        response: { 200: Type.Array(Open), ...errorResponses },
      },
    },
    async (request) => settlement.summaries(request.query.from, request.query.to),
  );
}
