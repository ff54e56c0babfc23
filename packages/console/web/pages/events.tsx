/**
 * #/events — program events on a timeline, one lane per source (IEEE 2030.5, OpenADR, operator,
 * ...), bars coloured by status, and the same events as a table. Bars are positioned HTML, in % of
 * the window, so they need no chart library.
 */
import { useState } from 'preact/hooks';
import { getAll, withQuery } from '../api.ts';
import { Badge, ErrorBox, Loading, Section, Segmented } from '../components.tsx';
import { eventSpan, SOURCE_LABELS, SOURCE_ORDER, signalKinds } from '../event-window.ts';
import * as fmt from '../format.ts';
import { useLive, useLoad, useNow } from '../hooks.ts';
import { href } from '../router.ts';
import type { ProgramEvent } from '../types.ts';

const HOUR = 3_600_000;
const WINDOWS = [
  { label: '±1 h', halfMs: HOUR },
  { label: '±6 h', halfMs: 6 * HOUR },
  { label: '±24 h', halfMs: 24 * HOUR },
  { label: '±3 d', halfMs: 72 * HOUR },
  { label: '±7 d', halfMs: 168 * HOUR },
] as const;

export function Events() {
  const [windowIndex, setWindowIndex] = useState(2);
  const halfMs = (WINDOWS[windowIndex] ?? WINDOWS[2]).halfMs;
  const [anchor] = useState(() => Date.now());
  const events = useLoad(`events:${halfMs}`, () =>
    getAll<ProgramEvent>(withQuery('/api/events', { from: anchor - halfMs, to: anchor + halfMs }), 5000),
  );
  useLive((message) => {
    if (message.type !== 'event') return;
    events.update((current) => {
      const list = current ?? [];
      const index = list.findIndex((e) => e.id === message.event.id);
      if (index === -1) return [...list, message.event];
      const next = [...list];
      next[index] = message.event;
      return next;
    });
  });
  const now = useNow(30_000);
  const from = now - halfMs;
  const to = now + halfMs;
  const list = events.data ?? [];
  const sorted = [...list].sort((a, b) => eventSpan(b).start - eventSpan(a).start);
  return (
    <div class="page">
      <h1>Events</h1>
      <ErrorBox error={events.error} />
      <Section
        title="Timeline"
        actions={<Segmented labels={WINDOWS.map((w) => w.label)} selected={windowIndex} onSelect={setWindowIndex} />}
      >
        <Loading when={events.loading && events.data === undefined} />
        <Timeline events={list} from={from} to={to} now={now} />
      </Section>
      <Section title={`Events in the window (${list.length})`}>
        <EventTable events={sorted} now={now} />
      </Section>
    </div>
  );
}

interface Placed {
  event: ProgramEvent;
  start: number;
  end: number;
  row: number;
}

/** Greedy rows inside a lane so overlapping events do not cover each other. */
function placeInRows(events: ProgramEvent[]): { placed: Placed[]; rows: number } {
  const spans = events.map((event) => ({ event, ...eventSpan(event) })).sort((a, b) => a.start - b.start);
  const rowEnds: number[] = [];
  const placed: Placed[] = [];
  for (const span of spans) {
    let row = rowEnds.findIndex((end) => end <= span.start);
    if (row === -1) {
      row = rowEnds.length;
      rowEnds.push(span.end);
    } else rowEnds[row] = span.end;
    placed.push({ ...span, row });
  }
  return { placed, rows: Math.max(1, rowEnds.length) };
}

function ticksOf(from: number, to: number): number[] {
  const span = to - from;
  const step =
    span <= 3 * HOUR
      ? HOUR / 4
      : span <= 12 * HOUR
        ? HOUR
        : span <= 48 * HOUR
          ? 4 * HOUR
          : span <= 144 * HOUR
            ? 12 * HOUR
            : 24 * HOUR;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t < to; t += step) ticks.push(t);
  return ticks;
}

function tickLabel(t: number, span: number): string {
  return span > 48 * HOUR
    ? new Date(t).toLocaleString('en-GB', { day: '2-digit', month: 'short', hour: '2-digit', minute: '2-digit' })
    : fmt.clock(t);
}

export function Timeline(props: { events: ProgramEvent[]; from: number; to: number; now: number }) {
  const { from, to, now } = props;
  const x = (t: number) => ((Math.min(to, Math.max(from, t)) - from) / (to - from)) * 100;
  const sources = [...new Set(props.events.map((e) => e.source))].sort((a, b) => {
    const ia = SOURCE_ORDER.indexOf(a);
    const ib = SOURCE_ORDER.indexOf(b);
    return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || a.localeCompare(b);
  });
  const visible = props.events.filter((event) => {
    const span = eventSpan(event);
    return span.end > from && span.start < to;
  });
  return (
    <div class="timeline" data-testid="timeline" data-events={String(visible.length)}>
      <div class="timeline-axis">
        <div class="lane-label" />
        <div class="lane-track">
          {ticksOf(from, to).map((t) => (
            <span key={t} class="tick" style={{ left: `${x(t)}%` }}>
              {tickLabel(t, to - from)}
            </span>
          ))}
        </div>
      </div>
      {sources.map((source) => {
        const { placed, rows } = placeInRows(visible.filter((e) => e.source === source));
        if (placed.length === 0) return null;
        return (
          <div class="lane" key={source} data-testid={`timeline-lane-${source}`}>
            <div class="lane-label">{SOURCE_LABELS[source] ?? source}</div>
            <div class="lane-track" style={{ height: `${rows * 26 + 6}px` }}>
              <span class="now-line" style={{ left: `${x(now)}%` }} title={`now ${fmt.clock(now)}`} />
              {placed.map(({ event, start, end, row }) => (
                <a
                  key={event.id}
                  href={href(['events', event.id])}
                  class={`bar status-${event.status}`}
                  data-testid={`timeline-event-${event.id}`}
                  style={{
                    left: `${x(start)}%`,
                    width: `${Math.max(0.4, x(end) - x(start))}%`,
                    top: `${row * 26 + 4}px`,
                  }}
                  title={`${event.id} · ${event.status} · ${fmt.time(start)} – ${fmt.time(end)} · ${signalKinds(event).join(', ')}`}
                >
                  {event.id}
                </a>
              ))}
            </div>
          </div>
        );
      })}
      {visible.length === 0 ? <p class="muted">No event in this window.</p> : null}
      <p class="legend small">
        {['scheduled', 'active', 'completed', 'cancelled', 'superseded', 'opted-out'].map((status) => (
          <span key={status}>
            <span class={`swatch status-${status}`} /> {status}
          </span>
        ))}
        <span>
          <span class="swatch now" /> now
        </span>
      </p>
    </div>
  );
}

function EventTable({ events, now }: { events: ProgramEvent[]; now: number }) {
  if (events.length === 0) return <p class="muted">None.</p>;
  return (
    <table data-testid="events-table">
      <thead>
        <tr>
          <th>Event</th>
          <th>Program</th>
          <th>Source</th>
          <th>Status</th>
          <th>Signals</th>
          <th>Start</th>
          <th>End</th>
          <th class="num">Primacy</th>
        </tr>
      </thead>
      <tbody>
        {events.map((event) => {
          const span = eventSpan(event);
          return (
            <tr key={event.id} data-testid={`event-row-${event.id}`}>
              <td class="ellipsis" title={event.id}>
                <a href={href(['events', event.id])}>{event.id}</a>
              </td>
              <td>{event.programId}</td>
              <td>{SOURCE_LABELS[event.source] ?? event.source}</td>
              <td>
                <Badge value={event.status} />
              </td>
              <td>{signalKinds(event).join(', ')}</td>
              <td class="nowrap" title={fmt.relative(span.start, now)}>
                {fmt.time(span.start)}
              </td>
              <td class="nowrap" title={fmt.relative(span.end, now)}>
                {fmt.time(span.end)}
              </td>
              <td class="num">{event.primacy}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
