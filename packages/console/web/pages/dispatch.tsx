/**
 * #/dispatch — the rolling-horizon battery dispatch (docs/dispatch-engine.md): the latest plan
 * (GET /api/dispatch/plan): when and why it was made, its horizon, its status or the diagnosis
 * of a failed plan in words, the fleet's expected revenue per product, degradation cost and wear,
 * the solver's figures, each battery (next interval's power, SoC now against the plan, revenue,
 * wear) and the batteries left out with the reason; then the revenue of recent plans (GET
 * /api/dispatch/history). Read-only: a viewer sees all of it. Reloaded when the plan's events
 * change on the live feed.
 */
import { getAll, withQuery } from '../api.ts';
import { Badge, ErrorBox, Facts, Loading, PowerWords, Section, Stat } from '../components.tsx';
import {
  dispatchProgramId,
  failureInWords,
  getPlanOrNothing,
  intervalAt,
  plannedSocAt,
  revenueByProduct,
  totalRevenue,
  triggersText,
} from '../dispatch.ts';
import * as fmt from '../format.ts';
import { useLoad, useNow, useReloadOnPlan } from '../hooks.ts';
import { MultiChart } from '../multi-chart.tsx';
import { href } from '../router.ts';
import type { BatteryPlan, DeviceStatus, DispatchPlan, PlanHistoryEntry } from '../types.ts';

/** History read back, and plans listed in the table. */
const HISTORY_SPAN_MS = 24 * 3_600_000;
const HISTORY_ROWS = 8;

interface DispatchView {
  programId: string | undefined;
  plan: DispatchPlan | undefined;
  history: PlanHistoryEntry[];
  status: Map<string, DeviceStatus>;
}

async function loadView(): Promise<DispatchView> {
  const programId = await dispatchProgramId();
  if (programId === undefined) return { programId, plan: undefined, history: [], status: new Map() };
  const [plan, history, batteries, hybrids] = await Promise.all([
    getPlanOrNothing<DispatchPlan>('/api/dispatch/plan'),
    getPlanOrNothing<PlanHistoryEntry[]>(withQuery('/api/dispatch/history', { from: Date.now() - HISTORY_SPAN_MS })),
    getAll<DeviceStatus>('/api/devices/status?class=battery'),
    getAll<DeviceStatus>('/api/devices/status?class=hybrid-inverter'),
  ]);
  return {
    programId,
    plan,
    history: history ?? [],
    status: new Map([...batteries, ...hybrids].map((s) => [s.deviceId, s])),
  };
}

export function Dispatch() {
  const view = useLoad('dispatch', loadView);
  useReloadOnPlan(view.data?.programId, view.reload);
  const data = view.data;
  return (
    <div class="page">
      <h1>
        Dispatch
        {data?.plan ? (
          <span class="muted small">
            {' '}
            program <code>{data.plan.programId}</code> · primacy {data.plan.primacy}
          </span>
        ) : null}
      </h1>
      <ErrorBox error={view.error} />
      <Loading when={view.loading && data === undefined} />
      {data && data.programId === undefined ? (
        <p class="notice" data-testid="dispatch-not-configured">
          Dispatch is not configured on this gateway: it has no <code>dispatch</code> section (docs/dispatch-engine.md).
        </p>
      ) : null}
      {data?.programId !== undefined && data.plan === undefined ? (
        <p class="notice" data-testid="dispatch-no-plan">
          No dispatch plan has been made yet.
        </p>
      ) : null}
      {data?.plan ? <PlanView plan={data.plan} history={data.history} status={data.status} /> : null}
    </div>
  );
}

function PlanView({
  plan,
  history,
  status,
}: {
  plan: DispatchPlan;
  history: PlanHistoryEntry[];
  status: Map<string, DeviceStatus>;
}) {
  const now = useNow(5000);
  return (
    <>
      <p class="plan-line" data-testid="dispatch-plan" data-plan-id={plan.id} data-status={plan.status}>
        <Badge value={plan.status === 'ok' ? 'planned' : 'failed'} testId="dispatch-status" /> Plan{' '}
        <code>{plan.id}</code> made <span title={fmt.time(plan.createdAt)}>{fmt.ago(plan.createdAt, now)}</span> (
        {fmt.time(plan.createdAt)}), triggered by {triggersText(plan.triggers)}.
      </p>
      {plan.failure ? (
        <div class="error" role="alert" data-testid="dispatch-failure">
          <strong>{failureInWords(plan.failure, plan.horizon)}</strong>{' '}
          <span class="small">
            (<code>{plan.failure.code}</code>)
          </span>
          <div class="small">
            No new setpoints are sent until a plan succeeds; the previous plan's events run out at their end.
          </div>
        </div>
      ) : null}
      {plan.status === 'ok' ? <PlanFigures plan={plan} /> : <HorizonFacts plan={plan} />}
      <BatteryTable plan={plan} status={status} now={now} />
      <History history={history} now={now} />
    </>
  );
}

/** The headline numbers, revenue per product and the solver of a solved plan. */
function PlanFigures({ plan }: { plan: DispatchPlan }) {
  const revenue = totalRevenue(plan.revenueUsd);
  const enrolled = plan.batteries.length + plan.leftOut.length;
  return (
    <>
      <div class="stats">
        <Stat
          label="Expected revenue"
          value={fmt.usd(revenue)}
          raw={revenue}
          testId="dispatch-revenue-total"
          detail={`over ${fmt.duration(Math.round((plan.horizon.end - plan.horizon.start) / 1000))}`}
        />
        <Stat
          label="Degradation cost"
          value={fmt.usd(plan.degradationCostUsd)}
          raw={plan.degradationCostUsd}
          testId="dispatch-degradation"
          detail="wear priced into the plan"
        />
        <Stat
          label="Net of wear"
          value={fmt.usd(plan.objectiveUsd)}
          raw={plan.objectiveUsd}
          testId="dispatch-objective"
          detail={plan.penaltyUsd > 0 ? `after ${fmt.usd(plan.penaltyUsd)} SoC-band penalty` : 'the objective'}
        />
        <Stat
          label="Batteries planned"
          value={`${fmt.count(plan.batteries.length)} of ${fmt.count(enrolled)}`}
          raw={plan.batteries.length}
          testId="dispatch-batteries-planned"
          detail={plan.leftOut.length > 0 ? `${plan.leftOut.length} left out (below)` : 'none left out'}
          {...(plan.leftOut.length > 0 ? { tone: 'bad' as const } : {})}
        />
        <Stat
          label="Cycles"
          value={fmt.decimal(plan.wear.cycles)}
          raw={plan.wear.cycles}
          testId="dispatch-cycles"
          detail="equivalent full cycles, all batteries"
        />
        <Stat
          label="Life consumed"
          value={fmt.lifeShare(plan.wear.lifeConsumed)}
          raw={plan.wear.lifeConsumed}
          testId="dispatch-life"
          detail="rainflow of the planned SoC"
        />
      </div>
      <div class="columns">
        <RevenueTable plan={plan} />
        <HorizonFacts plan={plan} />
      </div>
    </>
  );
}

function RevenueTable({ plan }: { plan: DispatchPlan }) {
  const total = totalRevenue(plan.revenueUsd);
  return (
    <Section title="Fleet revenue per product">
      <table data-testid="dispatch-revenue">
        <thead>
          <tr>
            <th>Product</th>
            <th class="num">Expected revenue</th>
            <th class="num">Share</th>
          </tr>
        </thead>
        <tbody>
          {revenueByProduct(plan.revenueUsd).map((row) => (
            <tr key={row.product}>
              <td>{row.label}</td>
              <td class="num" data-testid={`dispatch-revenue-${row.product}`} data-value={String(row.usd)}>
                {fmt.usd(row.usd)}
              </td>
              <td class="num muted">{total > 0 ? fmt.percent((row.usd / total) * 100, 0) : '–'}</td>
            </tr>
          ))}
          <tr class="total">
            <td>Total revenue</td>
            <td class="num">{fmt.usd(total)}</td>
            <td />
          </tr>
          <tr>
            <td>Degradation cost</td>
            <td class="num">{fmt.usd(-plan.degradationCostUsd)}</td>
            <td />
          </tr>
          {plan.penaltyUsd > 0 ? (
            <tr>
              <td>SoC-band penalty</td>
              <td class="num">{fmt.usd(-plan.penaltyUsd)}</td>
              <td />
            </tr>
          ) : null}
          <tr class="total">
            <td>Net of wear</td>
            <td class="num">{fmt.usd(plan.objectiveUsd)}</td>
            <td />
          </tr>
        </tbody>
      </table>
    </Section>
  );
}

function HorizonFacts({ plan }: { plan: DispatchPlan }) {
  const { horizon, solver, prices } = plan;
  const intervalMin = horizon.intervalSeconds / 60;
  return (
    <Section title="Horizon and solver">
      <Facts
        items={[
          ['Horizon', `${fmt.time(horizon.start)} – ${fmt.time(horizon.end)}`],
          [
            'Intervals',
            `${horizon.intervals} × ${fmt.decimal(intervalMin)} min${horizon.requestedIntervals > horizon.intervals ? ` (of ${horizon.requestedIntervals} asked: the prices end sooner)` : ''}`,
          ],
          ['Prices', prices.source],
          ['OpenADR-priced intervals', prices.openadrIntervals > 0 ? String(prices.openadrIntervals) : undefined],
          [
            'Controls solved around',
            plan.overrides.length > 0
              ? `${plan.overrides.length}${plan.overridesRelaxed ? ' (loosened to bounds)' : ''}`
              : 'none',
          ],
          [
            'Solve time',
            solver ? (
              <span key="t" data-testid="dispatch-solver-ms" data-value={String(solver.totalMs)}>
                {fmt.decimal(solver.totalMs, 1)} ms ({fmt.decimal(solver.runMs, 1)} ms in HiGHS)
              </span>
            ) : undefined,
          ],
          ['Model', solver ? `${fmt.count(solver.columns)} columns × ${fmt.count(solver.rows)} rows` : undefined],
          ['Binaries', solver ? fmt.count(solver.binaries) : undefined],
          ['Start', solver ? (solver.warm ? 'warm (kept model re-solved)' : 'cold') : undefined],
          ['Solver objective', solver ? fmt.usd(solver.objectiveValue) : undefined],
        ]}
      />
    </Section>
  );
}

function BatteryRow({ battery, status, now }: { battery: BatteryPlan; status?: DeviceStatus; now: number }) {
  const next = intervalAt(battery.intervals, now);
  const planned = plannedSocAt(battery.soc0Pct, battery.intervals, now);
  const revenue = totalRevenue(battery.revenueUsd);
  const id = battery.deviceId;
  return (
    <tr data-testid={`dispatch-battery-${id}`}>
      <td>
        <a href={href(['devices', id])}>{id}</a>
      </td>
      <td>
        <a href={href(['sites'], { site: battery.siteId })}>{battery.siteId}</a>
      </td>
      <td class="num" data-testid={`dispatch-battery-${id}-next`} data-value={next ? String(next.netKw) : ''}>
        {next ? <PowerWords kw={next.netKw} /> : '–'}
      </td>
      <td class="num" data-testid={`dispatch-battery-${id}-soc-now`} data-value={String(status?.socPct ?? '')}>
        {fmt.percent(status?.socPct)}
      </td>
      <td class="num" data-testid={`dispatch-battery-${id}-soc-planned`} data-value={String(planned ?? '')}>
        {fmt.percent(planned)}
      </td>
      <td class="num" data-testid={`dispatch-battery-${id}-revenue`} data-value={String(revenue)}>
        {fmt.usd(revenue)}
      </td>
      <td class="num">{fmt.usd(battery.degradationCostUsd)}</td>
      <td class="num">{fmt.decimal(battery.cycles)}</td>
      <td class="num">{fmt.lifeShare(battery.wear.lifeConsumed)}</td>
      <td>
        {battery.overrides.length > 0 ? (
          <span class="small" title={battery.overrides.map((o) => `${o.source} ${o.type} ${o.value}`).join('; ')}>
            {battery.overrides.length} control{battery.overrides.length === 1 ? '' : 's'} of higher precedence
          </span>
        ) : (
          <span class="muted small">planned</span>
        )}
      </td>
    </tr>
  );
}

function BatteryTable({ plan, status, now }: { plan: DispatchPlan; status: Map<string, DeviceStatus>; now: number }) {
  if (plan.batteries.length === 0 && plan.leftOut.length === 0)
    return (
      <Section title="Batteries">
        <p class="muted">No battery is enrolled in the dispatch program.</p>
      </Section>
    );
  return (
    <Section title="Batteries">
      <table data-testid="dispatch-batteries">
        <thead>
          <tr>
            <th>Battery</th>
            <th>Site</th>
            <th class="num">This interval</th>
            <th class="num">SoC now</th>
            <th class="num">SoC planned now</th>
            <th class="num">Revenue</th>
            <th class="num">Degradation</th>
            <th class="num">Cycles</th>
            <th class="num">Life used</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {plan.batteries.map((battery) => (
            <BatteryRow key={battery.deviceId} battery={battery} status={status.get(battery.deviceId)} now={now} />
          ))}
          {plan.leftOut.map((left) => (
            <tr key={left.deviceId} data-testid={`dispatch-leftout-${left.deviceId}`} class="left-out">
              <td>
                <a href={href(['devices', left.deviceId])}>{left.deviceId}</a>
              </td>
              <td colSpan={8} class="muted">
                {left.reason}
              </td>
              <td>
                <Badge value="left out" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">
        Power: the plan's net for the interval in force (discharge is output). SoC now: the latest reading no older than
        5 min; planned: the plan's SoC at this moment.
      </p>
    </Section>
  );
}

function History({ history, now }: { history: PlanHistoryEntry[]; now: number }) {
  const ok = history.filter((entry) => entry.status === 'ok');
  const lines = [
    {
      key: 'revenue',
      label: 'Expected revenue',
      color: '#1a7f37',
      times: ok.map((e) => e.createdAt),
      values: ok.map((e) => e.revenueUsd),
    },
    {
      key: 'net',
      label: 'Net of wear',
      color: '#1f6feb',
      times: ok.map((e) => e.createdAt),
      values: ok.map((e) => e.revenueUsd - e.degradationCostUsd),
    },
    {
      key: 'degradation',
      label: 'Degradation cost',
      color: '#bc4c00',
      dash: [5, 3],
      times: ok.map((e) => e.createdAt),
      values: ok.map((e) => e.degradationCostUsd),
    },
  ];
  const newest = [...history].reverse().slice(0, HISTORY_ROWS);
  return (
    <Section title={`Recent plans (${history.length} in the last 24 h)`}>
      {history.length === 0 ? (
        <p class="muted">No plans in the last 24 hours.</p>
      ) : (
        <div class="columns history-columns">
          <MultiChart
            testId="dispatch-history-chart"
            title="Each plan's expected value over its horizon"
            lines={lines}
            left={{ unit: 'USD', format: fmt.usd }}
            height={170}
          />
          <table data-testid="dispatch-history">
            <thead>
              <tr>
                <th>Made</th>
                <th>Triggered by</th>
                <th class="num">Revenue</th>
                <th class="num">Degradation</th>
                <th class="num">Solve</th>
              </tr>
            </thead>
            <tbody>
              {newest.map((entry) => (
                <tr key={entry.id} data-testid={`dispatch-history-${entry.id}`}>
                  <td title={fmt.time(entry.createdAt)}>{fmt.ago(entry.createdAt, now)}</td>
                  <td>
                    {entry.status === 'failed' ? (
                      <span class="error-text" title={entry.failure?.message}>
                        failed: {entry.failure?.code}
                      </span>
                    ) : (
                      triggersText(entry.triggers)
                    )}
                  </td>
                  <td class="num">{fmt.usd(entry.revenueUsd)}</td>
                  <td class="num">{fmt.usd(entry.degradationCostUsd)}</td>
                  <td class="num">{entry.solverMs === undefined ? '–' : `${fmt.decimal(entry.solverMs, 0)} ms`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
