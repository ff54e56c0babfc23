/**
 * #/settlement — settled local operating days (docs/reference/api.md "Settlement", GET /api/settlement/days): per
 * program revenue, penalties and wear (degradation) by day, as a chart and a table; each day's
 * reconciliation gaps with its CSV exports (lines, ledger, reconciliation: fetched with the
 * session's token and saved as files); operators settle a day with "Settle day"
 * (POST /api/settlement/days/{date}), which replaces an earlier settlement of it.
 */
import { useState } from 'preact/hooks';
import { ApiError, enc, get, post, storedToken } from '../api.ts';
import { ErrorBox, Loading, Section, Stat } from '../components.tsx';
import * as fmt from '../format.ts';
import { canOperate, useApp, useLoad } from '../hooks.ts';
import { type ChartLine, MultiChart } from '../multi-chart.tsx';
import type { DailyProgramSummary, SettlementDay } from '../types.ts';

/** Days drawn on the chart and listed (newest). */
const DAYS_SHOWN = 31;
const PALETTE = ['#1a7f37', '#1f6feb', '#8250df', '#0a7d8c', '#9a6700', '#bf3989'];

/** Today's date (YYYY-MM-DD) in a time zone (the market's; the browser's clock). */
export function todayIn(timeZone: string, now = Date.now()): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
      new Date(now),
    );
  } catch {
    return new Date(now).toISOString().slice(0, 10);
  }
}

/** A day's program rows, sorted by program id. */
function programsOf(day: SettlementDay): DailyProgramSummary[] {
  return [...day.programs].sort((a, b) => (a.programId < b.programId ? -1 : a.programId > b.programId ? 1 : 0));
}

/** Saves an API text export (CSV) as a file: fetched with the token, handed to the browser as a download. */
async function download(path: string, filename: string): Promise<void> {
  const token = storedToken();
  const response = await fetch(path, {
    headers: { accept: 'text/csv', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
  });
  if (!response.ok) {
    const text = await response.text();
    let body = { code: `HTTP_${response.status}`, message: text.slice(0, 200) };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(response.status, body);
  }
  const url = URL.createObjectURL(await response.blob());
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function Settlement() {
  const { session } = useApp();
  const view = useLoad('settlement', () => get<SettlementDay[]>('/api/settlement/days'));
  const [failure, setFailure] = useState<ApiError | undefined>(undefined);
  const days = view.data ?? [];
  const shown = days.slice(-DAYS_SHOWN);
  const timeZone = days[days.length - 1]?.timeZone ?? 'UTC';
  const exportCsv = (date: string, kind: 'lines' | 'ledger' | 'reconciliation') => {
    setFailure(undefined);
    download(`/api/settlement/days/${enc(date)}/${kind}.csv`, `settlement-${date}-${kind}.csv`).catch(
      (error: ApiError) => setFailure(error),
    );
  };
  return (
    <div class="page">
      <h1>
        Settlement
        <span class="muted small"> local days in {timeZone}</span>
      </h1>
      <ErrorBox error={view.error ?? failure} />
      {canOperate(session) ? <SettleForm key={timeZone} timeZone={timeZone} onSettled={view.reload} /> : null}
      <Loading when={view.loading && view.data === undefined} />
      {view.data !== undefined && days.length === 0 ? (
        <p class="notice" data-testid="settlement-none">
          No day has been settled yet.{canOperate(session) ? ' Choose a day above and settle it.' : ''}
        </p>
      ) : null}
      {shown.length > 0 ? (
        <>
          <Totals days={shown} />
          <Chart days={shown} />
          <DayTable days={shown} onExport={exportCsv} />
          <ProgramTable days={shown} />
        </>
      ) : null}
    </div>
  );
}

function SettleForm({ timeZone, onSettled }: { timeZone: string; onSettled: () => void }) {
  const [date, setDate] = useState(() => todayIn(timeZone));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [done, setDone] = useState<SettlementDay | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await post<SettlementDay>(`/api/settlement/days/${enc(date)}`, {}));
      onSettled();
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Settle a day">
      <form class="filters" data-testid="settlement-form" onSubmit={submit}>
        <label>
          Local day ({timeZone})
          <input
            type="date"
            required
            data-testid="settlement-date"
            value={date}
            onInput={(e) => setDate(e.currentTarget.value)}
          />
        </label>
        <button type="submit" data-testid="settlement-settle" disabled={busy || date === ''}>
          {busy ? 'Settling…' : 'Settle day'}
        </button>
      </form>
      <ErrorBox error={error} />
      {done && error === undefined ? (
        <p class="ok" data-testid="settlement-settled" data-date={done.date}>
          {done.date} settled{done.complete ? '' : ` up to ${fmt.time(done.settledUntil)} (the day is still running)`}:{' '}
          {fmt.usd(done.totals.revenueUsd)} revenue, {fmt.count(done.totals.gaps)} reconciliation gap
          {done.totals.gaps === 1 ? '' : 's'}.
        </p>
      ) : null}
    </Section>
  );
}

function Totals({ days }: { days: SettlementDay[] }) {
  const sum = (pick: (day: SettlementDay) => number) => days.reduce((total, day) => total + pick(day), 0);
  const revenue = sum((d) => d.totals.revenueUsd);
  const penalties = sum((d) => d.totals.penaltyUsd);
  const wear = sum((d) => d.totals.degradationUsd);
  const gaps = sum((d) => d.totals.gaps);
  const net = sum((d) => d.totals.netUsd);
  const span = `${days.length} day${days.length === 1 ? '' : 's'}`;
  return (
    <div class="stats">
      <Stat label="Revenue" value={fmt.usd(revenue)} raw={revenue} testId="settlement-revenue" detail={span} />
      <Stat
        label="Penalties"
        value={fmt.usd(penalties)}
        raw={penalties}
        testId="settlement-penalties"
        detail="shortfalls against obligations"
      />
      <Stat
        label="Wear"
        value={fmt.usd(wear)}
        raw={wear}
        testId="settlement-wear"
        detail="degradation by throughput share"
      />
      <Stat
        label="Net"
        value={fmt.usd(net)}
        raw={net}
        testId="settlement-net"
        detail="revenue − energy bought − penalties − wear"
      />
      <Stat
        label="Reconciliation gaps"
        value={fmt.count(gaps)}
        raw={gaps}
        testId="settlement-gaps"
        detail="settled against metered telemetry"
        {...(gaps > 0 ? { tone: 'bad' as const } : {})}
      />
    </div>
  );
}

/** Each day as a flat segment [from, to): one line per program's revenue, and penalties and wear. */
function Chart({ days }: { days: SettlementDay[] }) {
  const programs = [...new Set(days.flatMap((d) => d.programs.map((p) => p.programId)))].sort();
  const segment = (pick: (day: SettlementDay) => number | undefined) => {
    const times: number[] = [];
    const values: number[] = [];
    for (const day of days) {
      const value = pick(day);
      if (value === undefined) continue;
      times.push(day.from, day.to - 1);
      values.push(value, value);
    }
    return { times, values };
  };
  const lines: ChartLine[] = programs.map((programId, index) => ({
    key: `revenue-${programId}`,
    label: `${programId} revenue`,
    color: PALETTE[index % PALETTE.length] as string,
    ...segment((day) => day.programs.find((p) => p.programId === programId)?.revenueUsd),
  }));
  lines.push(
    {
      key: 'penalties',
      label: 'Penalties',
      color: '#cf222e',
      dash: [5, 3],
      ...segment((day) => day.totals.penaltyUsd),
    },
    { key: 'wear', label: 'Wear', color: '#bc4c00', dash: [2, 3], ...segment((day) => day.totals.degradationUsd) },
  );
  return (
    <MultiChart
      testId="settlement-chart"
      title="Revenue per program, penalties and wear by day"
      lines={lines}
      left={{ unit: 'USD', format: fmt.usd }}
      height={200}
    />
  );
}

function DayTable({
  days,
  onExport,
}: {
  days: SettlementDay[];
  onExport: (date: string, kind: 'lines' | 'ledger' | 'reconciliation') => void;
}) {
  return (
    <Section title="Days">
      <table data-testid="settlement-days">
        <thead>
          <tr>
            <th>Day</th>
            <th class="num">Devices</th>
            <th class="num">Metered</th>
            <th class="num">Revenue</th>
            <th class="num">Penalties</th>
            <th class="num">Wear</th>
            <th class="num">Net</th>
            <th class="num">Gaps</th>
            <th>Exports</th>
          </tr>
        </thead>
        <tbody>
          {[...days].reverse().map((day) => {
            const id = `settlement-day-${day.date}`;
            return (
              <tr key={day.date} data-testid={id}>
                <td title={`settled ${fmt.time(day.settledAt)} by ${day.settledBy}`}>
                  {day.date}
                  {day.complete ? null : <span class="muted small"> (to {fmt.time(day.settledUntil)})</span>}
                </td>
                <td class="num">{fmt.count(day.devices)}</td>
                <td class="num">{fmt.decimal(day.totals.meteredKwh, 2)} kWh</td>
                <td class="num" data-testid={`${id}-revenue`} data-value={String(day.totals.revenueUsd)}>
                  {fmt.usd(day.totals.revenueUsd)}
                </td>
                <td class="num" data-testid={`${id}-penalties`} data-value={String(day.totals.penaltyUsd)}>
                  {fmt.usd(day.totals.penaltyUsd)}
                </td>
                <td class="num" data-testid={`${id}-wear`} data-value={String(day.totals.degradationUsd)}>
                  {fmt.usd(day.totals.degradationUsd)}
                </td>
                <td class="num">{fmt.usd(day.totals.netUsd)}</td>
                <td
                  class="num"
                  data-testid={`${id}-gaps`}
                  data-value={String(day.totals.gaps)}
                  title={Object.entries(day.gapsByKind)
                    .filter(([, n]) => n > 0)
                    .map(([kind, n]) => `${n} ${kind}`)
                    .join(', ')}
                >
                  <button
                    type="button"
                    class="link-inline"
                    data-testid={`${id}-reconciliation`}
                    onClick={() => onExport(day.date, 'reconciliation')}
                  >
                    {fmt.count(day.totals.gaps)}
                  </button>
                </td>
                <td class="actions">
                  <button type="button" class="link-inline" onClick={() => onExport(day.date, 'lines')}>
                    lines.csv
                  </button>
                  <button type="button" class="link-inline" onClick={() => onExport(day.date, 'ledger')}>
                    ledger.csv
                  </button>
                  <button type="button" class="link-inline" onClick={() => onExport(day.date, 'reconciliation')}>
                    reconciliation.csv
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p class="muted small">
        Gaps: intervals where settled energy and metered telemetry disagree or a meter reading is missing; the count
        downloads the reconciliation CSV.
      </p>
    </Section>
  );
}

function ProgramTable({ days }: { days: SettlementDay[] }) {
  const rows = [...days].reverse().flatMap((day) => programsOf(day));
  return (
    <Section title="Per program">
      {rows.length === 0 ? (
        <p class="muted">No energy or capacity was attributed to a program on these days.</p>
      ) : (
        <table data-testid="settlement-programs">
          <thead>
            <tr>
              <th>Day</th>
              <th>Program</th>
              <th class="num">Energy</th>
              <th class="num">Capacity</th>
              <th class="num">Revenue</th>
              <th class="num">Penalties</th>
              <th class="num">Wear</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => {
              const id = `settlement-program-${row.date}-${row.programId}`;
              return (
                <tr key={`${row.date}/${row.programId}`} data-testid={id}>
                  <td>{row.date}</td>
                  <td>
                    <code>{row.programId}</code>
                  </td>
                  <td class="num">{fmt.decimal(row.energyKwh, 3)} kWh</td>
                  <td class="num">{fmt.decimal(row.capacityKwH, 3)} kW·h</td>
                  <td class="num" data-testid={`${id}-revenue`} data-value={String(row.revenueUsd)}>
                    {fmt.usd(row.revenueUsd)}
                  </td>
                  <td class="num" data-testid={`${id}-penalties`} data-value={String(row.penaltyUsd)}>
                    {fmt.usd(row.penaltyUsd)}
                  </td>
                  <td class="num" data-testid={`${id}-wear`} data-value={String(row.degradationUsd)}>
                    {fmt.usd(row.degradationUsd)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}
