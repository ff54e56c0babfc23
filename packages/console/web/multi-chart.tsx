/**
 * A time chart of several series on uPlot (canvas), each on its own time stamps: the series are
 * aligned on the union of their times (gaps spanned), drawn as lines or steps, on a left value
 * axis and optionally a right one, with an optional "now" line. Charts with the same `syncKey`
 * share the cursor. The container carries `data-testid` and one `data-points-<key>` per series
 * (how many points it has), so tests and people can tell an empty series from a drawn one.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { Series } from './chart.tsx';
import { dayMonth, hhmm, mountPlot, timeTicks, valueAxisSize } from './chart.tsx';

export interface ChartLine extends Series {
  /** Stable key: the data attribute `data-points-<key>` counts its points. */
  key: string;
  label: string;
  color: string;
  /** 'right' puts it on the second axis. */
  axis?: 'left' | 'right';
  /** Steps that hold each value until the next point (planned power per interval). */
  stepped?: boolean;
  dash?: number[];
  fill?: boolean;
  width?: number;
}

export interface AxisSpec {
  unit: string;
  range?: [number, number];
  /** Writes a value with its unit (ticks and the read-out); default "value unit". */
  format?: (value: number) => string;
}

export interface MultiChartProps {
  testId: string;
  title: string;
  lines: ChartLine[];
  left: AxisSpec;
  right?: AxisSpec;
  height?: number;
  /** The time span shown (epoch ms), widened to the data if it reaches beyond. */
  span?: { from: number; to: number };
  /** Draws a vertical line at this instant (epoch ms). */
  now?: number;
  syncKey?: string;
  /**
   * Fixed widths of the value axes, px: charts stacked with the same sizes share their plot
   * area's left and right edges (a chart without a right axis keeps the space empty).
   */
  axisSizes?: { left: number; right: number };
}

/** The union of the lines' times (ascending, epoch s) and each line's values on it (null where it has none). */
export function alignLines(lines: readonly Series[]): uPlot.AlignedData {
  const times = [...new Set(lines.flatMap((line) => line.times))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = lines.map((line) => {
    const column: Array<number | null> = new Array(times.length).fill(null);
    line.times.forEach((t, i) => {
      column[index.get(t) as number] = line.values[i] ?? null;
    });
    return column;
  });
  return [times.map((t) => t / 1000), ...columns] as uPlot.AlignedData;
}

/** Time tick steps, seconds: never below one (the labels show whole seconds). */
const TIME_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
];

const withUnit = (spec: AxisSpec) => (v: number) =>
  spec.format ? spec.format(v) : `${v.toLocaleString('en-GB', { maximumFractionDigits: 2 })} ${spec.unit}`;

const formatValue = (spec: AxisSpec) => (_chart: uPlot, v: number | null | undefined) =>
  v === null || v === undefined ? '–' : withUnit(spec)(v);

function valueAxis(spec: AxisSpec, scale: string, side: 1 | 3, size?: number): uPlot.Axis {
  return {
    scale,
    side,
    stroke: '#555',
    grid: { stroke: side === 3 ? '#eee' : 'transparent' },
    size: size ?? valueAxisSize,
    values: (_chart, ticks) => ticks.map(withUnit(spec)),
  };
}

/** An axis that only keeps `size` px free on the right. */
function emptyRightAxis(size: number): uPlot.Axis {
  return {
    scale: 'left',
    side: 1,
    size,
    stroke: 'transparent',
    grid: { show: false },
    ticks: { show: false },
    values: (_chart, ticks) => ticks.map(() => ''),
  };
}

/** A dashed vertical line at `now` with a small label. */
function nowLine(now: () => number | undefined): uPlot.Plugin {
  return {
    hooks: {
      draw: (chart) => {
        const at = now();
        if (at === undefined) return;
        const x = chart.valToPos(at / 1000, 'x', true);
        const { top, height, left, width } = chart.bbox;
        if (x < left || x > left + width) return;
        const ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = '#cf222e';
        ctx.lineWidth = 1.5 * uPlot.pxRatio;
        ctx.setLineDash([4 * uPlot.pxRatio, 3 * uPlot.pxRatio]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#cf222e';
        ctx.font = `${11 * uPlot.pxRatio}px system-ui, sans-serif`;
        ctx.fillText('now', x + 4 * uPlot.pxRatio, top + 12 * uPlot.pxRatio);
        ctx.restore();
      },
    },
  };
}

function options(props: MultiChartProps, width: number, live: () => MultiChartProps): uPlot.Options {
  const stepped = uPlot.paths.stepped?.({ align: 1 });
  const scales: uPlot.Scales = {
    x: {
      time: true,
      range: (_chart, min, max) => {
        const span = live().span;
        if (span === undefined) return [min, max];
        return [Math.min(min ?? span.from / 1000, span.from / 1000), Math.max(max ?? span.to / 1000, span.to / 1000)];
      },
    },
    left: props.left.range ? { range: props.left.range } : {},
  };
  if (props.right) scales.right = props.right.range ? { range: props.right.range } : {};
  const axes: uPlot.Axis[] = [
    // 80 px a tick, whole seconds at least: room for hh:mm:ss when the span is short
    {
      stroke: '#555',
      grid: { stroke: '#eee' },
      space: 80,
      incrs: TIME_STEPS_S,
      values: (_chart, ticks) => timeTicks(ticks),
    },
    valueAxis(props.left, 'left', 3, props.axisSizes?.left),
  ];
  if (props.right) axes.push(valueAxis(props.right, 'right', 1, props.axisSizes?.right));
  else if (props.axisSizes) axes.push(emptyRightAxis(props.axisSizes.right));
  return {
    width,
    height: props.height ?? 200,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false }, ...(props.syncKey ? { sync: { key: props.syncKey } } : {}) },
    scales,
    axes,
    plugins: [nowLine(() => live().now)],
    series: [
      {
        label: 'At',
        value: (_chart, t) =>
          t === null ? '–' : `${dayMonth(new Date(t * 1000))}, ${hhmm(new Date(t * 1000), false)}`,
      },
      ...props.lines.map((line): uPlot.Series => {
        const spec = line.axis === 'right' && props.right ? props.right : props.left;
        return {
          label: line.label,
          scale: line.axis === 'right' && props.right ? 'right' : 'left',
          stroke: line.color,
          width: line.width ?? 1.75,
          spanGaps: true,
          points: { show: false },
          value: formatValue(spec),
          ...(line.fill ? { fill: `${line.color}1f` } : {}),
          ...(line.dash ? { dash: line.dash } : {}),
          ...(line.stepped && stepped ? { paths: stepped } : {}),
        };
      }),
    ],
  };
}

export function MultiChart(props: MultiChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | undefined>(undefined);
  // read by the x range and the now line when they draw: new props apply without a new chart
  const live = useRef(props);
  live.current = props;
  const shape = props.lines.map((line) => `${line.key}:${line.axis ?? 'left'}`).join(',');

  useEffect(
    () =>
      mountPlot(
        container.current,
        chart,
        (element, width) =>
          new uPlot(
            options(props, width, () => live.current),
            alignLines(props.lines),
            element,
          ),
      ),
    [props.title, props.left.unit, props.right?.unit, shape],
  );

  useEffect(() => {
    chart.current?.setData(alignLines(props.lines));
  }, [props.lines]);

  const counts: Record<string, string> = {};
  for (const line of props.lines) counts[`data-points-${line.key}`] = String(line.times.length);
  const empty = props.lines.every((line) => line.times.length === 0);
  return (
    <figure class="chart">
      <figcaption>
        {props.title}
        {empty ? <span class="muted"> · no data in this window</span> : null}
      </figcaption>
      <div ref={container} class="chart-canvas" data-testid={props.testId} {...counts} />
    </figure>
  );
}
