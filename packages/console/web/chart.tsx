/**
 * A time series chart on uPlot (canvas). The container carries `data-testid` and `data-points`
 * (how many points the series has) so tests and people can tell an empty chart from a drawn one.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  /** Epoch ms, ascending. */
  times: number[];
  values: number[];
}

export interface TimeChartProps {
  testId: string;
  title: string;
  /** The axis unit, after any scaling the caller did (kW, %, V). */
  unit: string;
  series: Series;
  color?: string;
  height?: number;
  /** The time span shown (epoch ms), widened to the data if it reaches beyond: charts side by side line up. */
  span?: { from: number; to: number };
  /** A fixed value range (SoC: 0-100) instead of one fitted to the data. */
  valueRange?: [number, number];
}

function toData(series: Series): uPlot.AlignedData {
  return [series.times.map((t) => t / 1000), series.values];
}

export const hhmm = (date: Date, seconds: boolean) =>
  date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
export const dayMonth = (date: Date) => date.toLocaleDateString('en-GB', { day: '2-digit', month: 'short' });

/** Time ticks (epoch s) in 24-hour time like the rest of the console; the date under the first tick of each day. */
export function timeTicks(ticks: number[]): string[] {
  const seconds = ticks.length > 1 && (ticks[1] as number) - (ticks[0] as number) < 60;
  return ticks.map((tick, index) => {
    const date = new Date(tick * 1000);
    const previous = index === 0 ? undefined : new Date((ticks[index - 1] as number) * 1000);
    const newDay = previous === undefined || previous.toDateString() !== date.toDateString();
    return newDay ? `${hhmm(date, seconds)}\n${dayMonth(date)}` : hhmm(date, seconds);
  });
}

/** Wide enough for the longest value label (a minus sign and the unit included), about 7 px a character. */
export function valueAxisSize(_chart: uPlot, values: string[] | null): number {
  const longest = Math.max(4, ...(values ?? []).map((text) => (text ?? '').length));
  return Math.ceil(longest * 7.2) + 18;
}

function options(props: TimeChartProps, width: number, spanOf: () => TimeChartProps['span']): uPlot.Options {
  const color = props.color ?? '#1f6feb';
  const unit = props.unit;
  const value = (v: number | null | undefined) =>
    v === null || v === undefined ? '–' : `${v.toLocaleString('en-GB', { maximumFractionDigits: 2 })} ${unit}`;
  return {
    width,
    height: props.height ?? 180,
    // The legend is the read-out under the chart: the time and value under the cursor.
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: {
        time: true,
        range: (_chart, min, max) => {
          const span = spanOf();
          if (span === undefined) return [min, max];
          return [Math.min(min ?? span.from / 1000, span.from / 1000), Math.max(max ?? span.to / 1000, span.to / 1000)];
        },
      },
      ...(props.valueRange ? { y: { range: props.valueRange } } : {}),
    },
    axes: [
      { stroke: '#555', grid: { stroke: '#eee' }, values: (_chart, ticks) => timeTicks(ticks) },
      {
        stroke: '#555',
        grid: { stroke: '#eee' },
        size: valueAxisSize,
        values: (_chart, ticks) => ticks.map((tick) => `${tick.toLocaleString('en-GB')} ${unit}`),
      },
    ],
    series: [
      {
        label: 'At',
        value: (_chart, t) => (t === null ? '–' : `${dayMonth(new Date(t * 1000))}, ${hhmm(new Date(t * 1000), true)}`),
      },
      {
        label: props.title,
        stroke: color,
        width: 1.5,
        fill: `${color}1a`,
        points: { show: false },
        value: (_chart, v) => value(v),
      },
    ],
  };
}

/**
 * Creates a plot in `element` at its width (200 px at least), keeps it in `chart` and resizes it with
 * the element; returns the effect's clean-up, which destroys it. Nothing while there is no element.
 */
export function mountPlot(
  element: HTMLDivElement | null,
  chart: { current: uPlot | undefined },
  create: (element: HTMLDivElement, width: number) => uPlot,
): (() => void) | undefined {
  if (element === null) return undefined;
  const plot = create(element, Math.max(200, element.clientWidth));
  chart.current = plot;
  const resize = new ResizeObserver(() =>
    plot.setSize({ width: Math.max(200, element.clientWidth), height: plot.height }),
  );
  resize.observe(element);
  return () => {
    resize.disconnect();
    plot.destroy();
    chart.current = undefined;
  };
}

export function TimeChart(props: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | undefined>(undefined);
  // read by the x scale's range each time data is set, so a new window applies without a new chart
  const span = useRef(props.span);
  span.current = props.span;

  // created once per title/unit; data flows through setData
  useEffect(
    () =>
      mountPlot(
        container.current,
        chart,
        (element, width) =>
          new uPlot(
            options(props, width, () => span.current),
            toData(props.series),
            element,
          ),
      ),
    [props.title, props.unit],
  );

  useEffect(() => {
    chart.current?.setData(toData(props.series));
  }, [props.series]);

  const points = props.series.times.length;
  return (
    <figure class="chart">
      <figcaption>
        {props.title} <span class="muted">({props.unit})</span>
        {points === 0 ? <span class="muted"> · no data in this window</span> : null}
      </figcaption>
      <div ref={container} class="chart-canvas" data-testid={props.testId} data-points={String(points)} />
    </figure>
  );
}
