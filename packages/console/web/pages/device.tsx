/**
 * #/devices/ID — one device: what it can do, its latest values, a battery's dispatch plan against
 * its actual SoC (device-plan.tsx), power / SoC / voltage charts (bucketed history, then live
 * points after a `subscribe`), its commands with read-back, the events that commanded it, and for
 * operators a setpoint form.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { enc, get, getAll, withQuery } from '../api.ts';
import { type Series, TimeChart } from '../chart.tsx';
import { Badge, ErrorBox, Facts, Loading, Section, Segmented } from '../components.tsx';
import { SOURCE_LABELS } from '../event-window.ts';
import * as fmt from '../format.ts';
import { canOperate, useApp, useLive, useLoad, useNow } from '../hooks.ts';
import { href } from '../router.ts';
import type { Command, Device, LiveReading, ProgramEvent, Reading, Site, TelemetryBuckets } from '../types.ts';
import { DevicePlanPanel, mayBeDispatched } from './device-plan.tsx';
import { SetpointForm } from './setpoint-form.tsx';

const WINDOWS = [
  { label: '1 h', spanMs: 3_600_000, bucket: '30s' },
  { label: '6 h', spanMs: 6 * 3_600_000, bucket: '2m' },
  { label: '24 h', spanMs: 24 * 3_600_000, bucket: '10m' },
] as const;
/** Commands shown, newest first. */
const COMMANDS_SHOWN = 50;
const CLOCK_SLACK_MS = 60_000;
/** Commands read (newest first) to find the events that commanded the device. */
const COMMANDS_READ = 1000;

interface ChartSpec {
  measurand: 'activePower' | 'stateOfCharge' | 'voltage';
  testId: string;
  title: string;
  unit: string;
  scale: number;
  color: string;
  valueRange?: [number, number];
}

const CHARTS: ChartSpec[] = [
  { measurand: 'activePower', testId: 'chart-power', title: 'Active power', unit: 'kW', scale: 1e-3, color: '#1f6feb' },
  {
    measurand: 'stateOfCharge',
    testId: 'chart-soc',
    title: 'State of charge',
    unit: '%',
    scale: 1,
    color: '#2da44e',
    valueRange: [0, 100],
  },
  { measurand: 'voltage', testId: 'chart-voltage', title: 'Voltage', unit: 'V', scale: 1, color: '#bf8700' },
];

export function DeviceDetail({ id }: { id: string }) {
  const { session, live } = useApp();
  const device = useLoad(`device:${id}`, async () => {
    const found = await get<Device>(`/api/devices/${enc(id)}`);
    const site = await get<Site>(`/api/sites/${enc(found.siteId)}`).catch(() => undefined);
    return { device: found, site };
  });
  const latest = useLoad(`latest:${id}`, () => get<Reading[]>(`/api/devices/${enc(id)}/telemetry/latest`));
  const commands = useLoad(`commands:${id}`, () =>
    get<Command[]>(withQuery(`/api/devices/${enc(id)}/commands`, { order: 'desc', limit: COMMANDS_READ })),
  );

  const refs = useMemo(() => commandRefs(commands.data ?? []), [commands.data]);
  // Asked again only when a new ref appears, not on every renewed command.
  const events = useLoad(`device-events:${id}:${refs.ids.join(',')}`, async () => {
    const { ids, from, to } = refs;
    if (ids.length === 0) return [];
    const overlapping = await getAll<ProgramEvent>(withQuery('/api/events', { from, to: to + 1 }), 5000);
    return overlapping.filter((event) => ids.includes(event.id));
  });
  const eventIds = useMemo(() => new Set((events.data ?? []).map((event) => event.id)), [events.data]);

  useEffect(() => {
    live.subscribe([id]);
    return () => live.subscribe([]);
  }, [live, id]);

  useLive((message) => {
    if (message.type === 'command' && message.command.deviceId === id)
      commands.update((current) => upsertCommand(current ?? [], message.command));
    if (message.type === 'telemetry') latest.update((current) => mergeLatest(current ?? [], message.readings, id));
  });

  const data = device.data;
  return (
    <div class="page">
      <p class="crumbs">
        <a href={href(['devices'])}>Devices</a> ›
      </p>
      <h1>
        {data?.device.name ?? id} {data ? <span class="muted small">{data.device.class}</span> : null}
      </h1>
      <ErrorBox error={device.error} />
      <Loading when={device.loading && data === undefined} />
      {data ? (
        <>
          <div class="columns">
            <Section title="Device">
              <DeviceFacts device={data.device} site={data.site} />
            </Section>
            <Section title="Latest values">
              <ErrorBox error={latest.error} />
              <LatestTable readings={latest.data ?? []} />
            </Section>
          </div>
          {mayBeDispatched(data.device) ? <DevicePlanPanel device={data.device} /> : null}
          <Charts device={data.device} latest={latest.data ?? []} />
          {canOperate(session) ? (
            <Section title="Send a setpoint">
              <SetpointForm
                device={data.device}
                onSubmitted={(command) => commands.update((current) => upsertCommand(current ?? [], command))}
              />
            </Section>
          ) : null}
          <Section title="Commands">
            <ErrorBox error={commands.error} />
            <CommandTable commands={commands.data ?? []} eventIds={eventIds} />
          </Section>
          <Section title="Events that commanded this device">
            <ErrorBox error={events.error} />
            <EventsFromCommands commands={commands.data ?? []} events={events.data ?? []} />
          </Section>
        </>
      ) : null}
    </div>
  );
}

/**
 * The setpoint sources that may be events: the engine puts the event id in `source.ref` (kind
 * 'program', or 'operator' for an operator's event); a manual setpoint's ref is the token's name.
 * Which refs are events is settled by GET /api/events over the commands' time span.
 */
function commandRefs(commands: Command[]): { ids: string[]; from: number; to: number } {
  const ids = new Set<string>();
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const command of commands) {
    const { kind, ref } = command.setpoint.source;
    if (ref === undefined || (kind !== 'program' && kind !== 'operator')) continue;
    ids.add(ref);
    from = Math.min(from, command.setpoint.start);
    to = Math.max(to, command.setpoint.expiry);
  }
  return { ids: [...ids].sort(), from, to };
}

function upsertCommand(list: Command[], command: Command): Command[] {
  const index = list.findIndex((c) => c.id === command.id);
  if (index === -1) return [...list, command];
  const next = [...list];
  next[index] = command;
  return next;
}

function mergeLatest(current: Reading[], live: LiveReading[], id: string): Reading[] {
  const mine = live.filter((r) => r.deviceId === id);
  if (mine.length === 0) return current;
  const next = [...current];
  for (const reading of mine) {
    const index = next.findIndex((r) => r.measurand === reading.measurand && r.phase === reading.phase);
    const previous = index === -1 ? undefined : next[index];
    if (previous !== undefined && previous.ts > reading.at) continue;
    const updated: Reading = {
      deviceId: id,
      measurand: reading.measurand,
      value: reading.value,
      ts: reading.at,
      unit: previous?.unit ?? '',
      ...(reading.phase !== undefined ? { phase: reading.phase } : {}),
    };
    if (index === -1) next.push(updated);
    else next[index] = updated;
  }
  return next;
}

function DeviceFacts({ device, site }: { device: Device; site: Site | undefined }) {
  const { ratings, storage, ev, thermal, ramp, controls } = device.capabilities;
  return (
    <>
      <Facts
        items={[
          ['Id', <code key="id">{device.id}</code>],
          ['Class', device.class],
          [
            'Site',
            <a key="site" href={href(['sites'], { site: device.siteId })}>
              {site?.name ?? device.siteId}
            </a>,
          ],
          ['Enabled', device.enabled ? 'yes' : 'no'],
          ['Make', [device.manufacturer, device.model].filter(Boolean).join(' ') || undefined],
          ['Serial', device.serial],
          ['Adapter', `${device.adapter.kind} ${device.adapter.address}`],
          ['Rated power', ratings?.maxW !== undefined ? fmt.power(ratings.maxW) : undefined],
          ['Rated VA', ratings?.maxVA !== undefined ? `${(ratings.maxVA / 1000).toFixed(2)} kVA` : undefined],
          ['Nominal voltage', ratings?.nominalV !== undefined ? `${ratings.nominalV} V` : undefined],
          ['Capacity', storage ? fmt.energy(storage.capacityWh) : undefined],
          ['Max charge', storage ? fmt.power(storage.maxChargeW) : undefined],
          ['Max discharge', storage ? fmt.power(storage.maxDischargeW) : undefined],
          [
            'SoC band',
            storage && (storage.socMinPct !== undefined || storage.socMaxPct !== undefined)
              ? `${storage.socMinPct ?? 0}–${storage.socMaxPct ?? 100} %`
              : undefined,
          ],
          ['EV current', ev ? `${ev.minCurrentA ?? 0}–${ev.maxCurrentA ?? '?'} A` : undefined],
          ['EV phases', ev?.phases],
          ['Connectors', ev?.connectors],
          ['Bidirectional', ev?.bidirectional === undefined ? undefined : ev.bidirectional ? 'yes' : 'no'],
          ['Thermal band', thermal ? `${thermal.setpointMinC}–${thermal.setpointMaxC} °C` : undefined],
          ['Ramp', ramp ? `↑ ${ramp.upWPerS ?? '–'} W/s, ↓ ${ramp.downWPerS ?? '–'} W/s` : undefined],
        ]}
      />
      <p class="controls" data-testid="device-controls">
        <span class="muted">Controls: </span>
        {controls.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          controls.map((kind) => <code key={kind}>{kind}</code>)
        )}
      </p>
    </>
  );
}

/** What an operator looks at first, in this order; the rest (and other phases) behind "show all". */
const KEY_MEASURANDS = [
  'operatingState',
  'alarm',
  'activePower',
  'stateOfCharge',
  'availableEnergy',
  'voltage',
  'current',
  'frequency',
  'reactivePower',
];

function measurandRank(measurand: string): number {
  const index = KEY_MEASURANDS.indexOf(measurand);
  return index === -1 ? KEY_MEASURANDS.length : index;
}

/** Key measurands first, then by name; a total before its phases. */
function byImportance(a: Reading, b: Reading): number {
  return (
    measurandRank(a.measurand) - measurandRank(b.measurand) ||
    a.measurand.localeCompare(b.measurand) ||
    (a.phase ?? '').localeCompare(b.phase ?? '')
  );
}

/** One reading per key measurand: the total, or its first phase when it has no total (voltage). */
function keyReadings(sorted: Reading[]): Reading[] {
  const seen = new Set<string>();
  return sorted.filter((reading) => {
    if (measurandRank(reading.measurand) === KEY_MEASURANDS.length || seen.has(reading.measurand)) return false;
    if (reading.measurand === 'alarm' && (reading.value === '' || reading.value === 0)) return false; // none raised
    seen.add(reading.measurand);
    return true;
  });
}

function LatestTable({ readings }: { readings: Reading[] }) {
  const now = useNow();
  const [all, setAll] = useState(false);
  const sorted = [...readings].sort(byImportance);
  if (sorted.length === 0) return <p class="muted">No readings yet.</p>;
  const key = keyReadings(sorted);
  const shown = all || key.length === 0 ? sorted : key;
  return (
    <>
      <table data-testid="latest-values">
        <thead>
          <tr>
            <th>Measurand</th>
            <th class="num">Value</th>
            <th>At</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((reading) => (
            <tr key={`${reading.measurand}/${reading.phase ?? ''}`} data-testid={`latest-${reading.measurand}`}>
              <td title={reading.measurand}>
                {fmt.measurandLabel(reading.measurand)}
                {reading.phase ? <span class="muted"> (phase {reading.phase})</span> : null}
              </td>
              <td class="num" data-value={String(reading.value)}>
                {fmt.measurandValue(reading.measurand, reading.value)}
              </td>
              <td title={fmt.time(reading.ts)}>{fmt.ago(reading.ts, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length < sorted.length ? (
        <p class="muted small">
          {shown.length} key values of {sorted.length} readings.{' '}
          <button type="button" class="link-inline" data-testid="latest-show-all" onClick={() => setAll(true)}>
            Show all, every phase
          </button>
        </p>
      ) : null}
    </>
  );
}

/** The phase a chart shows: the total when the device reports one, else its first phase. */
function phaseOf(measurand: string, latest: Reading[]): string | undefined {
  const of = latest.filter((r) => r.measurand === measurand);
  if (of.length === 0 || of.some((r) => r.phase === undefined)) return undefined;
  return of.map((r) => r.phase as string).sort()[0];
}

function Charts({ device, latest }: { device: Device; latest: Reading[] }) {
  const [windowIndex, setWindowIndex] = useState(0);
  const window = WINDOWS[windowIndex] ?? WINDOWS[0];
  const hasSoc = device.capabilities.storage !== undefined || latest.some((r) => r.measurand === 'stateOfCharge');
  const specs = CHARTS.filter((spec) => spec.measurand !== 'stateOfCharge' || hasSoc);
  return (
    <Section
      title="Telemetry"
      actions={<Segmented labels={WINDOWS.map((w) => w.label)} selected={windowIndex} onSelect={setWindowIndex} />}
    >
      <div class="charts">
        {specs.map((spec) => (
          <MeasurandChart
            key={spec.measurand}
            deviceId={device.id}
            spec={spec}
            phase={phaseOf(spec.measurand, latest)}
            spanMs={window.spanMs}
            bucket={window.bucket}
          />
        ))}
      </div>
    </Section>
  );
}

function MeasurandChart(props: { deviceId: string; spec: ChartSpec; phase?: string; spanMs: number; bucket: string }) {
  const { deviceId, spec, phase, spanMs, bucket } = props;
  const history = useLoad(`${deviceId}/${spec.measurand}/${phase ?? ''}/${spanMs}`, () => {
    const to = Date.now();
    return get<TelemetryBuckets>(
      withQuery(`/api/devices/${enc(deviceId)}/telemetry`, {
        measurand: spec.measurand,
        from: to - spanMs,
        // a minute ahead: readings stamped by a device clock slightly ahead of this one
        to: to + CLOCK_SLACK_MS,
        bucket,
        phase,
      }),
    );
  });
  const [livePoints, setLivePoints] = useState<Series>({ times: [], values: [] });
  // a new history starts the live tail again
  useEffect(() => setLivePoints({ times: [], values: [] }), [history.data]);
  useLive((message) => {
    if (message.type !== 'telemetry') return;
    const mine = message.readings.filter(
      (r) =>
        r.deviceId === deviceId && r.measurand === spec.measurand && typeof r.value === 'number' && r.phase === phase,
    );
    if (mine.length === 0) return;
    setLivePoints((current) => {
      const times = [...current.times];
      const values = [...current.values];
      for (const reading of mine) {
        if (times.length > 0 && reading.at <= (times[times.length - 1] as number)) continue;
        times.push(reading.at);
        values.push((reading.value as number) * spec.scale);
      }
      return { times, values };
    });
  });

  const series = useMemo<Series>(() => {
    const buckets = history.data?.buckets ?? [];
    const lastHistory = buckets.length > 0 ? (buckets[buckets.length - 1] as { start: number }).start : 0;
    const cutoff = Date.now() - spanMs;
    const times: number[] = [];
    const values: number[] = [];
    for (const b of buckets) {
      times.push(b.start);
      values.push(b.avg * spec.scale);
    }
    livePoints.times.forEach((t, index) => {
      if (t > lastHistory && t >= cutoff) {
        times.push(t);
        values.push(livePoints.values[index] as number);
      }
    });
    return { times, values };
  }, [history.data, livePoints, spanMs, spec.scale]);

  return (
    <div>
      <ErrorBox error={history.error} />
      <TimeChart
        testId={spec.testId}
        title={phase ? `${spec.title} (phase ${phase})` : spec.title}
        unit={spec.unit}
        series={series}
        color={spec.color}
        span={history.data ? { from: history.data.from, to: history.data.to - CLOCK_SLACK_MS } : undefined}
        {...(spec.valueRange ? { valueRange: spec.valueRange } : {})}
      />
    </div>
  );
}

function CommandTable({ commands, eventIds }: { commands: Command[]; eventIds: ReadonlySet<string> }) {
  const newest = [...commands].sort((a, b) => b.createdAt - a.createdAt).slice(0, COMMANDS_SHOWN);
  if (newest.length === 0) return <p class="muted">No commands.</p>;
  return (
    <table data-testid="commands-table">
      <thead>
        <tr>
          <th>Created</th>
          <th>Kind</th>
          <th class="num">Value</th>
          <th>Source</th>
          <th>Status</th>
          <th class="num">Attempts</th>
          <th>Read-back</th>
          <th>Until</th>
        </tr>
      </thead>
      <tbody>
        {newest.map((command) => (
          <tr key={command.id} data-testid={`command-${command.id}`} data-status={command.status}>
            <td title={command.id}>{fmt.time(command.createdAt)}</td>
            <td>{command.setpoint.kind}</td>
            <td class="num">
              {fmt.setpointValue(command.setpoint.kind, command.setpoint.value, command.setpoint.unit)}
            </td>
            <td>
              {command.setpoint.source.kind}
              {command.setpoint.source.ref ? (
                <SourceRef
                  reference={command.setpoint.source.ref}
                  isEvent={eventIds.has(command.setpoint.source.ref)}
                />
              ) : null}
            </td>
            <td>
              <Badge value={command.status} testId={`command-status-${command.id}`} />
              {command.error ? (
                <div class="small error-text">
                  <code>{command.error.code}</code> {command.error.message}
                </div>
              ) : null}
            </td>
            <td class="num">{command.attempts}</td>
            <td>
              {command.readBack ? (
                <span class={command.readBack.matched ? 'ok' : 'error-text'}>
                  {command.readBack.matched ? '✓' : '✗'}{' '}
                  {fmt.setpointValue(command.setpoint.kind, command.readBack.value, command.setpoint.unit)}
                </span>
              ) : (
                '–'
              )}
            </td>
            <td>{fmt.time(command.setpoint.expiry)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SourceRef({ reference, isEvent }: { reference: string; isEvent: boolean }) {
  if (!isEvent) return <span class="muted small"> · {reference}</span>;
  return (
    <span class="small">
      {' '}
      · event <a href={href(['events', reference])}>{reference}</a>
    </span>
  );
}

/** The events among the commands' sources, with how many commands each gave and the newest one. */
function EventsFromCommands({ commands, events }: { commands: Command[]; events: ProgramEvent[] }) {
  if (events.length === 0) return <p class="muted">No program event has commanded this device.</p>;
  const rows = events.map((event) => {
    const mine = commands.filter((c) => c.setpoint.source.ref === event.id);
    const last = mine.reduce<Command | undefined>(
      (a, b) => (a === undefined || b.createdAt > a.createdAt ? b : a),
      undefined,
    );
    return { event, count: mine.length, last };
  });
  rows.sort((a, b) => (b.last?.createdAt ?? 0) - (a.last?.createdAt ?? 0));
  return (
    <table data-testid="device-events">
      <thead>
        <tr>
          <th>Event</th>
          <th>Source</th>
          <th>Status</th>
          <th class="num">Commands</th>
          <th>Last setpoint</th>
          <th>Its status</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ event, count, last }) => (
          <tr key={event.id} data-testid={`device-event-${event.id}`}>
            <td>
              <a href={href(['events', event.id])}>{event.id}</a>
            </td>
            <td>{SOURCE_LABELS[event.source] ?? event.source}</td>
            <td>
              <Badge value={event.status} />
            </td>
            <td class="num">{count}</td>
            <td>
              {last
                ? `${last.setpoint.kind} ${fmt.setpointValue(last.setpoint.kind, last.setpoint.value, last.setpoint.unit)} at ${fmt.time(last.createdAt)}`
                : '–'}
            </td>
            <td>{last ? <Badge value={last.status} /> : '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
