/**
 * The "Dispatch plan" panel of a battery's page (GET /api/devices/{id}/plan): planned SoC and
 * power against what the battery did, over the latest plan's horizon and a chosen span before it
 * (the past plans' first intervals there: what was executed), the energy price on the power
 * chart, the battery's expected revenue per product and its wear; a clear note when the latest
 * plan left it out (and why) or failed. Shown only when the gateway has a dispatch program and
 * the battery is in it (in the latest plan, left out by it, or in past plans).
 */
import { useState } from 'preact/hooks';
import { enc } from '../api.ts';
import type { Series } from '../chart.tsx';
import { ErrorBox, Facts, PowerWords, Section, Segmented, Stat } from '../components.tsx';
import {
  dispatchProgramId,
  executedTrajectory,
  failureInWords,
  getPlanOrNothing,
  intervalAt,
  plannedTrajectory,
  revenueByProduct,
  totalRevenue,
} from '../dispatch.ts';
import * as fmt from '../format.ts';
import { useLoad, useNow, useReloadOnPlan } from '../hooks.ts';
import { type ChartLine, MultiChart } from '../multi-chart.tsx';
import type { BatteryPlanFacts, Device, DevicePlan } from '../types.ts';

/**
 * How far before the plan's start the charts reach, as shares of the horizon (the route answers
 * one horizon back by default; the demo's horizon is short, a site's a day).
 */
const PAST_SHARES = [0.25, 0.5, 1] as const;
const DEFAULT_PAST = 0;
const STORAGE_CLASSES = new Set(['battery', 'hybrid-inverter']);
/** The SoC and power charts' value axes, px: the same on both so their time axes line up. */
const AXIS_SIZES = { left: 72, right: 84 };

/** True for the devices the dispatch can plan (the scheduler's battery classes, or a storage capability). */
export function mayBeDispatched(device: Device): boolean {
  return STORAGE_CLASSES.has(device.class) || device.capabilities.storage !== undefined;
}

export function DevicePlanPanel({ device }: { device: Device }) {
  const [pastIndex, setPastIndex] = useState<number>(DEFAULT_PAST);
  const view = useLoad(`device-plan:${device.id}`, async () => {
    const programId = await dispatchProgramId();
    if (programId === undefined) return { programId, plan: undefined, loadedAt: Date.now() };
    const plan = await getPlanOrNothing<DevicePlan>(`/api/devices/${enc(device.id)}/plan`);
    return { programId, plan, loadedAt: Date.now() };
  });
  useReloadOnPlan(view.data?.programId, view.reload, { deviceId: device.id });
  const plan = view.data?.plan;
  if (view.error) return <ErrorBox error={view.error} />;
  if (plan === undefined || !(plan.battery || plan.leftOut !== undefined || plan.executed.length > 0)) return null;
  return (
    <Section
      title="Dispatch plan"
      actions={
        <Segmented
          title="How far back the charts reach"
          labels={PAST_SHARES.map((share) => `${spanLabel(pastSpanMs(plan) * share)} back`)}
          selected={pastIndex}
          onSelect={setPastIndex}
        />
      }
    >
      <div data-testid="device-plan" data-plan-id={plan.planId} data-status={plan.status}>
        <PlanNote plan={plan} />
        {plan.battery ? <BatteryFigures plan={plan} battery={plan.battery} /> : null}
        <PlanCharts
          plan={plan}
          now={view.data?.loadedAt ?? Date.now()}
          from={pastStart(plan, PAST_SHARES[pastIndex] ?? 1)}
        />
        {plan.battery ? <RevenueAndWear battery={plan.battery} /> : null}
      </div>
    </Section>
  );
}

function PlanNote({ plan }: { plan: DevicePlan }) {
  const now = useNow(5000);
  const made = (
    <span title={fmt.time(plan.planCreatedAt)}>
      made {fmt.ago(plan.planCreatedAt, now)} ({fmt.clock(plan.planCreatedAt)})
    </span>
  );
  if (plan.failure)
    return (
      <div class="error" role="alert" data-testid="device-plan-failure">
        <strong>
          The latest plan failed ({made}):{' '}
          {plan.horizon ? failureInWords(plan.failure, plan.horizon) : plan.failure.message}
        </strong>{' '}
        <span class="small">
          (<code>{plan.failure.code}</code>)
        </span>
        <div class="small">This battery's last dispatch setpoints run out at their end; nothing new is sent.</div>
      </div>
    );
  if (plan.leftOut !== undefined)
    return (
      <div class="notice warn" role="status" data-testid="device-plan-left-out">
        <strong>Left out of the latest plan</strong> ({made}): {plan.leftOut}. It gets no dispatch setpoints until a
        plan can include it again.
      </div>
    );
  const battery = plan.battery;
  if (battery === undefined) return null;
  return (
    <p class="plan-line" data-testid="device-plan-in">
      In the latest plan <code>{plan.planId}</code>, {made}, from a measured SoC of {fmt.percent(battery.soc0Pct)} (
      {fmt.clock(battery.socMeasuredAt)}).
      {battery.overrides.length > 0 ? (
        <span>
          {' '}
          Solved around {battery.overrides.length} control{battery.overrides.length === 1 ? '' : 's'} of higher
          precedence: {battery.overrides.map((o) => `${o.source} ${o.type} ${o.value}`).join('; ')}.
        </span>
      ) : null}
    </p>
  );
}

function BatteryFigures({ plan, battery }: { plan: DevicePlan; battery: BatteryPlanFacts }) {
  const now = useNow(5000);
  const revenue = totalRevenue(battery.revenueUsd);
  const next = intervalAt(plan.planned, now);
  return (
    <div class="stats compact">
      <Stat
        label="Expected revenue"
        value={fmt.usd(revenue)}
        raw={revenue}
        testId="device-plan-revenue"
        detail="this battery, over the horizon"
      />
      <Stat
        label="Degradation cost"
        value={fmt.usd(battery.degradationCostUsd)}
        raw={battery.degradationCostUsd}
        testId="device-plan-degradation"
        detail={`net ${fmt.usd(revenue - battery.degradationCostUsd)}`}
      />
      <Stat
        label="Cycles"
        value={fmt.decimal(battery.cycles)}
        raw={battery.cycles}
        testId="device-plan-cycles"
        detail="equivalent full cycles"
      />
      <Stat
        label="Life consumed"
        value={fmt.lifeShare(battery.wear.lifeConsumed)}
        raw={battery.wear.lifeConsumed}
        testId="device-plan-life"
        detail={`${fmt.decimal(battery.wear.rainflowCycles, 1)} rainflow cycles`}
      />
      <Stat
        label="This interval"
        value={next ? `${fmt.decimal(next.netKw)} kW` : '–'}
        raw={next?.netKw ?? null}
        testId="device-plan-next"
        detail={next ? <PowerWords kw={next.netKw} /> : undefined}
      />
    </div>
  );
}

/** "6 h", "90 min", "45 s". */
function spanLabel(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 7200 ? fmt.duration(seconds) : `${fmt.decimal(seconds / 3600, 1)} h`;
}

/** The span before the plan the route answered (one horizon by default). */
function pastSpanMs(plan: DevicePlan): number {
  const start = plan.horizon?.start ?? plan.planned[0]?.start ?? plan.window.to;
  return Math.max(0, start - plan.window.from);
}

/** Where the charts start: `share` of that span before the plan. */
function pastStart(plan: DevicePlan, share: number): number {
  return plan.window.from + pastSpanMs(plan) * (1 - share);
}

/** Points at or after `from` (the chosen span; the answer reaches further back). */
function since(series: Series, from: number): Series {
  const first = series.times.findIndex((t) => t >= from);
  if (first <= 0) return first === 0 ? series : { times: [], values: [] };
  return { times: series.times.slice(first), values: series.values.slice(first) };
}

function pointsOf(readings: Array<{ ts: number; value: number }>, scale = 1): Series {
  return { times: readings.map((r) => r.ts), values: readings.map((r) => r.value * scale) };
}

/** The energy price per plan interval as steps, $/MWh. */
function priceSteps(plan: DevicePlan): Series {
  const horizon = plan.horizon;
  const prices = plan.prices?.energyUsdPerMwh ?? [];
  if (horizon === undefined || prices.length === 0) return { times: [], values: [] };
  const step = horizon.intervalSeconds * 1000;
  const times = prices.map((_, k) => horizon.start + k * step);
  times.push(horizon.start + prices.length * step);
  return { times, values: [...prices, prices[prices.length - 1] as number] };
}

function PlanCharts({ plan, now, from }: { plan: DevicePlan; now: number; from: number }) {
  const planned = plannedTrajectory(plan.battery?.soc0Pct ?? 0, plan.planned);
  const executed = executedTrajectory(plan.executed, plan.planId);
  const span = { from, to: plan.window.to };
  const battery = plan.battery;
  const band: ChartLine[] = battery
    ? [
        {
          key: 'ceiling',
          label: 'SoC ceiling',
          color: '#8c959f',
          width: 1,
          dash: [2, 4],
          times: [span.from, span.to],
          values: [battery.socMaxPct, battery.socMaxPct],
        },
        {
          key: 'floor',
          label: 'SoC floor',
          color: '#8c959f',
          width: 1,
          dash: [2, 4],
          times: [span.from, span.to],
          values: [battery.socMinPct, battery.socMinPct],
        },
      ]
    : [];
  const socLines: ChartLine[] = [
    { key: 'planned', label: 'Planned SoC', color: '#1f6feb', width: 2, fill: true, ...planned.soc },
    { key: 'executed', label: 'Past plans', color: '#8250df', dash: [5, 3], ...since(executed.soc, from) },
    {
      key: 'actual',
      label: 'Actual SoC',
      color: '#1a7f37',
      width: 2.25,
      ...since(pointsOf(plan.actual.socPct), from),
    },
    ...band,
  ];
  const powerLines: ChartLine[] = [
    { key: 'planned', label: 'Planned power', color: '#1f6feb', stepped: true, fill: true, ...planned.powerKw },
    {
      key: 'executed',
      label: 'Past plans',
      color: '#8250df',
      stepped: true,
      dash: [5, 3],
      ...since(executed.powerKw, from),
    },
    { key: 'actual', label: 'Actual power', color: '#1a7f37', ...since(pointsOf(plan.actual.powerW, 1e-3), from) },
    {
      key: 'price',
      label: 'Energy price',
      color: '#bc4c00',
      stepped: true,
      axis: 'right',
      width: 1,
      ...priceSteps(plan),
    },
  ];
  return (
    <div class="plan-charts">
      <MultiChart
        testId="plan-chart-soc"
        title="State of charge: planned against actual"
        lines={socLines}
        left={{ unit: '%', range: [0, 100] }}
        height={210}
        span={span}
        now={now}
        syncKey={`plan:${plan.deviceId}`}
        axisSizes={AXIS_SIZES}
      />
      <MultiChart
        testId="plan-chart-power"
        title="Power (discharge +) and the energy price"
        lines={powerLines}
        left={{ unit: 'kW' }}
        right={{ unit: '$/MWh' }}
        height={170}
        span={span}
        now={now}
        syncKey={`plan:${plan.deviceId}`}
        axisSizes={AXIS_SIZES}
      />
    </div>
  );
}

function RevenueAndWear({ battery }: { battery: BatteryPlanFacts }) {
  const revenue = totalRevenue(battery.revenueUsd);
  return (
    <div class="columns">
      <div>
        <h3>Expected revenue per product</h3>
        <table data-testid="device-plan-revenue-table">
          <tbody>
            {revenueByProduct(battery.revenueUsd).map((row) => (
              <tr key={row.product}>
                <td>{row.label}</td>
                <td class="num" data-testid={`device-plan-revenue-${row.product}`} data-value={String(row.usd)}>
                  {fmt.usd(row.usd)}
                </td>
              </tr>
            ))}
            <tr class="total">
              <td>Total</td>
              <td class="num">{fmt.usd(revenue)}</td>
            </tr>
            <tr>
              <td>Degradation cost</td>
              <td class="num">{fmt.usd(-battery.degradationCostUsd)}</td>
            </tr>
            <tr class="total">
              <td>Net of wear</td>
              <td class="num">{fmt.usd(revenue - battery.degradationCostUsd)}</td>
            </tr>
          </tbody>
        </table>
      </div>
      <div>
        <h3>Wear and the battery as planned</h3>
        <Facts
          items={[
            ['Equivalent full cycles', fmt.decimal(battery.cycles)],
            ['Rainflow cycles', fmt.decimal(battery.wear.rainflowCycles, 1)],
            ['Deepest cycle', fmt.percent(battery.wear.deepestCyclePct)],
            ['Life consumed', fmt.lifeShare(battery.wear.lifeConsumed)],
            [
              'Usable energy',
              `${fmt.decimal(battery.usableKwh)} kWh${battery.sohPct !== undefined ? ` (SoH ${fmt.percent(battery.sohPct, 0)} of ${fmt.decimal(battery.nameplateKwh)} kWh)` : ''}`,
            ],
            ['SoC band', `${fmt.decimal(battery.socMinPct)}–${fmt.decimal(battery.socMaxPct)} %`],
            ['Charge / discharge', `${fmt.kw(battery.chargeKw)} / ${fmt.kw(battery.dischargeKw)}`],
            [
              'Efficiency each way',
              `${fmt.percent(battery.etaCharge * 100)} / ${fmt.percent(battery.etaDischarge * 100)}`,
            ],
            [
              'Site limits (its share)',
              battery.siteImportLimitKw !== undefined || battery.siteExportLimitKw !== undefined
                ? `import ${fmt.kw(battery.siteImportLimitKw)}, export ${fmt.kw(battery.siteExportLimitKw)}`
                : undefined,
            ],
          ]}
        />
      </div>
    </div>
  );
}
