/**
 * The event page's M&V panel (docs/reference/api.md "Event M&V", docs/settlement.md "Baselines" and
 * "Event settlement (M&V)"): GET /api/settlement/events/{id}/report?method=&load= measured from the
 * store's telemetry. Per site: the baseline days, the day-of adjustment (kind, raw, applied), a chart
 * of baseline against actual per event interval and the settlement per interval with its totals
 * (delivered, obligation, performance ratio, shortfall, penalty, energy payment); per storage device
 * (device metering) and per market aggregation the same figures; the report's notes and the days
 * left out of baselines. A demand-response event is measured as soon as the panel opens; any other
 * event when "Measure" is pressed (the report is computed on every request, nothing is stored).
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { enc, get, withQuery } from '../api.ts';
import { Badge, ErrorBox, Loading } from '../components.tsx';
import * as fmt from '../format.ts';
import { useLoad } from '../hooks.ts';
import { type ChartLine, MultiChart } from '../multi-chart.tsx';
import { href } from '../router.ts';
import type {
  BaselineInterval,
  BaselineMethod,
  BaselineResult,
  EventMvReport,
  EventSettlement,
  Program,
  ProgramEvent,
} from '../types.ts';

export const MV_METHODS: ReadonlyArray<{ value: BaselineMethod; label: string }> = [
  { value: 'caiso-10in10', label: 'CAISO 10 in 10' },
  { value: 'caiso-5in10', label: 'CAISO 5 in 10 (residential)' },
  { value: 'pjm-high4of5', label: 'PJM High 4 of 5' },
  { value: 'meter-before-meter-after', label: 'Meter before / meter after' },
  { value: 'device-metering', label: 'Device metering (storage)' },
];

type LoadKind = 'net' | 'gross';

const EXCLUSION_LABELS: Readonly<Record<EventMvReport['exclusions'][number]['kind'], string>> = {
  'program-event': 'another event of the program at the site',
  'battery-dispatch': 'a market (battery dispatch) event on the site’s storage',
};

/** The report's path for a method and load kind. */
export function reportPath(eventId: string, method: BaselineMethod, load: LoadKind): string {
  return withQuery(`/api/settlement/events/${enc(eventId)}/report`, { method, load });
}

/** hh:mm of an instant on the report's clock (the settlement time zone). */
function localClock(epochMs: number, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' }).format(epochMs);
  } catch {
    return fmt.clock(epochMs);
  }
}

const kwh = (value: number | undefined) => (value === undefined ? '–' : `${fmt.decimal(value, 3)} kWh`);

export function EventMv(props: { event: ProgramEvent; program: Program | undefined; programLoading: boolean }) {
  const { event, program } = props;
  const [method, setMethod] = useState<BaselineMethod>('caiso-10in10');
  const [load, setLoad] = useState<LoadKind>('net');
  // Measure presses: each one measures again (the telemetry may have grown since).
  const [runs, setRuns] = useState(0);
  const automatic = program?.kind === 'demand-response';
  const active = automatic || runs > 0;
  // The answer keeps the load kind it was asked with: the selects change before the new answer arrives.
  const report = useLoad(`mv:${event.id}:${method}:${load}:${active ? runs : 'off'}`, async () =>
    active ? { load, report: await get<EventMvReport>(reportPath(event.id, method, load)) } : undefined,
  );
  const data = active ? report.data : undefined;
  return (
    <div data-testid="mv-panel" data-active={String(active)}>
      <form
        class="filters"
        data-testid="mv-form"
        onSubmit={(e) => {
          e.preventDefault();
          setRuns((n) => n + 1);
        }}
      >
        <label>
          Baseline method
          <select
            data-testid="mv-method"
            value={method}
            onChange={(e) => setMethod(e.currentTarget.value as BaselineMethod)}
          >
            {MV_METHODS.map((m) => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Site load
          <select data-testid="mv-load" value={load} onChange={(e) => setLoad(e.currentTarget.value as LoadKind)}>
            <option value="net">net: the meter (battery-dispatch days excluded)</option>
            <option value="gross">gross: meter + storage output</option>
          </select>
        </label>
        <button type="submit" data-testid="mv-measure" disabled={active && report.loading}>
          {active ? 'Measure again' : 'Measure'}
        </button>
      </form>
      {!active && !props.programLoading ? (
        <p class="muted" data-testid="mv-idle">
          {program ? `Program ${program.id} is ${program.kind}, not demand-response` : 'The program is not known'}:
          press Measure for baselines and performance from the meters’ telemetry.
        </p>
      ) : null}
      <ErrorBox error={active ? report.error : undefined} />
      <Loading when={active && report.loading && data === undefined} />
      {data !== undefined ? <Report report={data.report} load={data.load} /> : null}
    </div>
  );
}

function Report({ report, load }: { report: EventMvReport; load: LoadKind }) {
  const hours = report.eventHours.map((h) => `${String(h).padStart(2, '0')}:00`).join(', ');
  return (
    <div data-testid="mv-report" data-method={report.method} data-load={load}>
      <p class="muted small" data-testid="mv-summary">
        {MV_METHODS.find((m) => m.value === report.method)?.label ?? report.method} on {load} load · event day{' '}
        {report.eventDay} ({report.timeZone}), hours {hours || '–'} · measured {fmt.time(report.window.start)} –{' '}
        {fmt.time(report.window.end)} in {report.intervalMinutes}-minute intervals · penalty{' '}
        {fmt.usd(report.penaltyUsdPerKwh)} per kWh short
      </p>
      {report.sites.length === 0 ? (
        <p class="notice warn" data-testid="mv-no-sites">
          No site could be measured; the notes below say why.
        </p>
      ) : null}
      {report.sites.map((site) => (
        <SiteReport key={site.siteId} site={site} timeZone={report.timeZone} />
      ))}
      <Devices report={report} />
      <Aggregations report={report} />
      <Exclusions report={report} />
      {report.notes.length > 0 ? (
        <>
          <h3>Notes</h3>
          <ul class="history" data-testid="mv-notes" data-count={String(report.notes.length)}>
            {report.notes.map((note, index) => (
              <li key={`${index}/${note}`} class="small">
                {note}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function adjustmentText(adjustment: BaselineResult['adjustment']): string {
  if (adjustment.kind === 'ratio')
    return adjustment.raw === adjustment.applied
      ? `ratio × ${fmt.decimal(adjustment.applied, 4)}`
      : `ratio × ${fmt.decimal(adjustment.applied, 4)} (raw ${fmt.decimal(adjustment.raw, 4)}, clamped)`;
  if (adjustment.kind === 'additive') {
    const sign = adjustment.applied < 0 ? '−' : '+';
    return `additive ${sign}${fmt.decimal(Math.abs(adjustment.applied), 3)} kWh per interval`;
  }
  return 'none';
}

/**
 * Baseline, unadjusted baseline and actual per event interval as steps over [start, end): each value
 * is held through its interval, so every line carries a closing point at the last interval's end.
 */
function chartLines(intervals: BaselineInterval[]): ChartLine[] {
  const timed = intervals.filter((i): i is BaselineInterval & { start: number } => i.start !== undefined);
  const line = (key: string, label: string, color: string, pick: (i: BaselineInterval) => number, dash?: number[]) => {
    const times = timed.map((i) => i.start);
    const values = timed.map(pick);
    const last = timed.at(-1);
    if (last !== undefined) {
      times.push(last.start + last.durationH * 3_600_000);
      values.push(pick(last));
    }
    return { key, label, color, stepped: true, times, values, ...(dash ? { dash } : {}) };
  };
  return [
    line('baseline', 'Baseline (adjusted)', '#1f6feb', (i) => i.baseline),
    line('unadjusted', 'Baseline (unadjusted)', '#8250df', (i) => i.unadjusted, [4, 3]),
    line('actual', 'Actual', '#cf222e', (i) => i.actual),
  ];
}

function SiteReport({ site, timeZone }: { site: EventMvReport['sites'][number]; timeZone: string }) {
  const id = `mv-site-${site.siteId}`;
  const baseline = site.baseline;
  const byStart = new Map((baseline?.intervals ?? []).map((i, k) => [i.start ?? `#${k}`, i]));
  return (
    <div data-testid={id}>
      <h3>Site {site.siteId}</h3>
      {baseline !== undefined ? (
        <>
          <p>
            Baseline days:{' '}
            <strong data-testid={`${id}-days`} data-value={String(baseline.days.length)}>
              {baseline.days.length}
            </strong>
            {baseline.days.length === 0 ? (
              <span class="muted small"> (meter before / meter after: the intervals before the event)</span>
            ) : (
              <span class="muted small"> ({baseline.days.join(', ')})</span>
            )}
            <br />
            Day-of adjustment:{' '}
            <strong
              data-testid={`${id}-adjustment`}
              data-kind={baseline.adjustment.kind}
              data-raw={String(baseline.adjustment.raw)}
              data-applied={String(baseline.adjustment.applied)}
            >
              {adjustmentText(baseline.adjustment)}
            </strong>
          </p>
          <MultiChart
            testId={`${id}-chart`}
            title={`Site ${site.siteId}: baseline and actual load per interval`}
            lines={chartLines(baseline.intervals)}
            left={{ unit: 'kWh', format: (v) => `${fmt.decimal(v, 2)} kWh` }}
            height={180}
          />
        </>
      ) : (
        <p class="muted small">
          No baseline: the site's reduction is its storage's metered output (device metering, load offset).
        </p>
      )}
      <table data-testid={`${id}-intervals`}>
        <thead>
          <tr>
            <th>Interval ({timeZone})</th>
            <th class="num">Baseline</th>
            <th class="num">Actual</th>
            <th class="num">Reduction</th>
            <th class="num">Obligation</th>
            <th class="num">Delivered</th>
            <th class="num">Shortfall</th>
            <th class="num">Price</th>
            <th class="num">Payment</th>
          </tr>
        </thead>
        <tbody>
          {site.settlement.intervals.map((interval, k) => {
            const b = byStart.get(interval.start ?? `#${k}`);
            return (
              <tr key={interval.start ?? k}>
                <td class="nowrap">
                  {interval.start !== undefined
                    ? localClock(interval.start, timeZone)
                    : `${String(interval.hour ?? 0).padStart(2, '0')}:00`}
                </td>
                <td class="num">{kwh(b?.baseline)}</td>
                <td class="num">{kwh(b?.actual)}</td>
                <td class="num">{kwh(interval.reductionKwh)}</td>
                <td class="num">{kwh(interval.obligationKwh)}</td>
                <td class="num">{kwh(interval.deliveredKwh)}</td>
                <td class="num">{kwh(interval.shortfallKwh)}</td>
                <td class="num">
                  {interval.priceUsdPerMwh === undefined ? '–' : `${fmt.decimal(interval.priceUsdPerMwh, 2)} $/MWh`}
                </td>
                <td class="num">{fmt.usd(interval.energyPaymentUsd)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <FigureTable
        labelHeader="Totals"
        rows={[{ key: site.siteId, label: `Site ${site.siteId}`, settlement: site.settlement, testId: id }]}
      />
    </div>
  );
}

interface FigureRow {
  key: string;
  label: ComponentChildren;
  detail?: ComponentChildren;
  settlement: EventSettlement;
  testId: string;
}

/** Delivered, obligation, performance ratio, shortfall, penalty and payment (notes §3.6); numbers in data-value. */
function FigureTable({
  rows,
  labelHeader,
  detailHeader,
}: {
  rows: FigureRow[];
  labelHeader: string;
  detailHeader?: string;
}) {
  return (
    <table>
      <thead>
        <tr>
          <th>{labelHeader}</th>
          {detailHeader ? <th>{detailHeader}</th> : null}
          <th class="num">Delivered</th>
          <th class="num">Obligation</th>
          <th class="num">Performance</th>
          <th class="num">Shortfall</th>
          <th class="num">Penalty</th>
          <th class="num">Energy payment</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const s = row.settlement;
          const short = s.shortfallKwh > 1e-9;
          return (
            <tr key={row.key} data-testid={`${row.testId}-figures`}>
              <td>{row.label}</td>
              {detailHeader ? <td class="small">{row.detail}</td> : null}
              <td class="num" data-testid={`${row.testId}-delivered`} data-value={String(s.deliveredKwh)}>
                {kwh(s.deliveredKwh)}
              </td>
              <td class="num" data-testid={`${row.testId}-obligation`} data-value={String(s.obligationKwh)}>
                {kwh(s.obligationKwh)}
              </td>
              <td class="num" data-testid={`${row.testId}-pr`} data-value={String(s.performanceRatio)}>
                {fmt.percent(s.performanceRatio * 100)}
              </td>
              <td class="num" data-testid={`${row.testId}-shortfall`} data-value={String(s.shortfallKwh)}>
                {kwh(s.shortfallKwh)} {short ? <Badge value="short" /> : null}
              </td>
              <td class="num" data-testid={`${row.testId}-penalty`} data-value={String(s.penaltyUsd)}>
                {fmt.usd(s.penaltyUsd)}
              </td>
              <td class="num" data-testid={`${row.testId}-payment`} data-value={String(s.energyPaymentUsd)}>
                {fmt.usd(s.energyPaymentUsd)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Devices({ report }: { report: EventMvReport }) {
  if (report.devices.length === 0) return null;
  return (
    <>
      <h3>Storage devices (device metering: load offset counted, export not)</h3>
      <FigureTable
        labelHeader="Device"
        detailHeader="Site"
        rows={report.devices.map((device) => ({
          key: device.deviceId,
          label: <a href={href(['devices', device.deviceId])}>{device.deviceId}</a>,
          detail: device.siteId ?? '–',
          settlement: device.settlement,
          testId: `mv-device-${device.deviceId}`,
        }))}
      />
    </>
  );
}

function Aggregations({ report }: { report: EventMvReport }) {
  if (report.aggregations.length === 0) return null;
  return (
    <>
      <h3>Market aggregations (sum of their member sites)</h3>
      <FigureTable
        labelHeader="Aggregation"
        detailHeader="Member sites"
        rows={report.aggregations.map((aggregation) => ({
          key: aggregation.aggregationId,
          label: <a href={href(['market'])}>{aggregation.aggregationId}</a>,
          detail: aggregation.memberSiteIds.join(', '),
          settlement: aggregation.settlement,
          testId: `mv-aggregation-${aggregation.aggregationId}`,
        }))}
      />
    </>
  );
}

function Exclusions({ report }: { report: EventMvReport }) {
  if (report.exclusions.length === 0) return null;
  return (
    <>
      <h3>Days left out of the baselines</h3>
      <table data-testid="mv-exclusions">
        <thead>
          <tr>
            <th>Site</th>
            <th>Why</th>
            <th>Days</th>
          </tr>
        </thead>
        <tbody>
          {report.exclusions.map((exclusion) => (
            <tr key={`${exclusion.siteId}/${exclusion.kind}`}>
              <td>{exclusion.siteId}</td>
              <td>{EXCLUSION_LABELS[exclusion.kind] ?? exclusion.kind}</td>
              <td class="small">{exclusion.days.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
