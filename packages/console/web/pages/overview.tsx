/** #/ — the fleet at a glance: GET /api/fleet/summary, then the live feed's `summary` messages. */
import { get } from '../api.ts';
import { Badge, ErrorBox, Loading, Section, Stat } from '../components.tsx';
import { SOURCE_LABELS } from '../event-window.ts';
import * as fmt from '../format.ts';
import { useLive, useLoad, useNow } from '../hooks.ts';
import { href } from '../router.ts';
import type { EventSummary, FleetSummary } from '../types.ts';

export function Overview() {
  const summary = useLoad('summary', () => get<FleetSummary>('/api/fleet/summary'));
  useLive((message) => {
    if (message.type === 'summary') summary.update(() => message.summary);
  });
  const data = summary.data;
  return (
    <div class="page">
      <h1>
        Fleet overview
        {data ? <span class="muted small"> as of {fmt.time(data.at)}</span> : null}
      </h1>
      <ErrorBox error={summary.error} />
      <Loading when={summary.loading && data === undefined} />
      {data ? <SummaryView summary={data} /> : null}
    </div>
  );
}

function SummaryView({ summary }: { summary: FleetSummary }) {
  const { devices, powerW, storage } = summary;
  return (
    <>
      <div class="stats">
        <Stat
          label="Devices"
          value={fmt.count(devices.total)}
          raw={devices.total}
          testId="overview-devices-total"
          href={href(['devices'])}
        />
        <Stat
          label="Online"
          value={fmt.count(devices.online)}
          raw={devices.online}
          testId="overview-devices-online"
          href={href(['devices'], { status: 'online' })}
        />
        <Stat
          label="Offline"
          value={fmt.count(devices.offline)}
          raw={devices.offline}
          testId="overview-devices-offline"
          href={href(['devices'], { status: 'offline' })}
          {...(devices.offline > 0 ? { tone: 'bad' as const } : {})}
        />
        <Stat
          label="Fleet power"
          value={fmt.power(powerW.total)}
          raw={powerW.total}
          testId="overview-power-total"
          detail="+ export / − import"
        />
        <Stat
          label="Batteries, mean SoC"
          value={fmt.percent(storage.meanSocPct)}
          raw={storage.meanSocPct}
          testId="overview-soc-mean"
          detail={`${fmt.count(storage.reporting)} of ${fmt.count(storage.count)} reporting`}
        />
        <Stat
          label="Stored energy"
          value={fmt.energy(storage.storedWh)}
          raw={storage.storedWh}
          testId="overview-stored"
          detail={`of ${fmt.energy(storage.capacityWh)}`}
        />
      </div>
      <div class="columns">
        <ByClass summary={summary} />
        <div>
          <ByState byState={devices.byState} />
          <SocHistogram bins={storage.socHistogram} />
        </div>
      </div>
      <div class="columns">
        <EventList title="Active events" testId="overview-active-events" events={summary.events.active} />
        <EventList title="Upcoming events" testId="overview-upcoming-events" events={summary.events.upcoming} />
      </div>
    </>
  );
}

function ByClass({ summary }: { summary: FleetSummary }) {
  const classes = [
    ...new Set([...Object.keys(summary.devices.byClass), ...Object.keys(summary.powerW.byClass)]),
  ].sort();
  return (
    <Section title="Devices by class">
      <table data-testid="overview-by-class">
        <thead>
          <tr>
            <th>Class</th>
            <th class="num">Total</th>
            <th class="num">Online</th>
            <th class="num">Offline</th>
            <th class="num">Power</th>
          </tr>
        </thead>
        <tbody>
          {classes.map((deviceClass) => {
            const counts = summary.devices.byClass[deviceClass];
            const watts = summary.powerW.byClass[deviceClass];
            return (
              <tr key={deviceClass} data-testid={`class-${deviceClass}`}>
                <td>
                  <a href={href(['devices'], { class: deviceClass })}>{deviceClass}</a>
                </td>
                <td class="num" data-testid={`class-${deviceClass}-total`}>
                  {fmt.count(counts?.total ?? 0)}
                </td>
                <td class="num" data-testid={`class-${deviceClass}-online`}>
                  <CountLink n={counts?.online ?? 0} to={href(['devices'], { class: deviceClass, status: 'online' })} />
                </td>
                <td class="num" data-testid={`class-${deviceClass}-offline`}>
                  <CountLink
                    n={counts?.offline ?? 0}
                    to={href(['devices'], { class: deviceClass, status: 'offline' })}
                  />
                </td>
                <td class="num" data-testid={`class-${deviceClass}-power`} data-value={String(watts ?? '')}>
                  {fmt.power(watts)}
                </td>
              </tr>
            );
          })}
          {classes.length === 0 ? (
            <tr>
              <td colSpan={5} class="muted">
                No devices registered.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </Section>
  );
}

/** A count that links to the devices it counts; a plain 0. */
function CountLink({ n, to }: { n: number; to: string }) {
  return n === 0 ? <span>{fmt.count(n)}</span> : <a href={to}>{fmt.count(n)}</a>;
}

function ByState({ byState }: { byState: Record<string, number> }) {
  const states = Object.entries(byState).sort(([a], [b]) => a.localeCompare(b));
  return (
    <Section title="Operating states of online devices">
      <ul class="chips" data-testid="overview-by-state">
        {states.map(([state, n]) => (
          <li key={state} data-testid={`state-${state}`} data-value={String(n)}>
            <a href={href(['devices'], { status: 'online', state })}>
              <Badge value={state} /> {fmt.count(n)}
            </a>
          </li>
        ))}
        {states.length === 0 ? <li class="muted">No state reported yet.</li> : null}
      </ul>
    </Section>
  );
}

/** The batteries' SoC distribution, ten bars; the bar's height is relative to the fullest bin. */
function SocHistogram({ bins }: { bins: FleetSummary['storage']['socHistogram'] }) {
  const most = Math.max(1, ...bins.map((bin) => bin.count));
  return (
    <Section title="Battery state of charge">
      <div class="histogram" data-testid="soc-histogram">
        {bins.map((bin, index) => (
          <div
            key={bin.fromPct}
            class="histogram-bin"
            data-testid={`soc-bin-${index}`}
            data-count={String(bin.count)}
            title={`${bin.fromPct}–${bin.toPct} %: ${bin.count}`}
          >
            <span class="histogram-count">{bin.count > 0 ? bin.count : ''}</span>
            <span class="histogram-bar" style={{ height: `${(bin.count / most) * 100}%` }} />
            <span class="histogram-label">{bin.fromPct}</span>
          </div>
        ))}
      </div>
      <p class="muted small">State of charge, % (bins of 10; the last includes 100)</p>
    </Section>
  );
}

export function EventList(props: { title: string; testId: string; events: EventSummary[] }) {
  const now = useNow();
  return (
    <Section title={props.title}>
      <table data-testid={props.testId}>
        <thead>
          <tr>
            <th>Event</th>
            <th>Source</th>
            <th>Status</th>
            <th>Signals</th>
            <th>Start</th>
            <th>End</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((event) => (
            <tr key={event.id} data-testid={`event-row-${event.id}`}>
              <td class="ellipsis" title={event.id}>
                <a href={href(['events', event.id])}>{event.id}</a>
              </td>
              <td class="nowrap">{SOURCE_LABELS[event.source] ?? event.source}</td>
              <td>
                <Badge value={event.status} />
              </td>
              <td>{event.signals.join(', ')}</td>
              <td class="nowrap" title={fmt.time(event.start)}>
                {fmt.relative(event.start, now)}
              </td>
              <td class="nowrap" title={fmt.time(event.end)}>
                {event.end === null ? 'open' : fmt.relative(event.end, now)}
              </td>
            </tr>
          ))}
          {props.events.length === 0 ? (
            <tr>
              <td colSpan={6} class="muted">
                None.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </Section>
  );
}
