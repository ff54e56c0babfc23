/**
 * #/events/ID — one program event: its intervals and signals, targets and status history, the
 * control engine's arbitration decisions and per-device allocation (GET /api/events/{id}/decisions),
 * what went back upstream: OpenADR reports and IEEE 2030.5 Responses (GET /api/events/{id}/reports),
 * and what the event delivered: baselines and performance per site, device and aggregation
 * (event-mv.tsx, GET /api/settlement/events/{id}/report).
 * Operators may end an event the API still lets them change.
 */
import { useState } from 'preact/hooks';
import { type ApiError, enc, get, post } from '../api.ts';
import { Badge, ErrorBox, Facts, Loading, Section, ShowAll } from '../components.tsx';
import { ENDABLE_STATUSES, eventSpan, RESPONSE_STATUS_NAMES, SOURCE_LABELS } from '../event-window.ts';
import * as fmt from '../format.ts';
import { canOperate, useApp, useLive, useLoad } from '../hooks.ts';
import { href } from '../router.ts';
import type { DecisionRow, Program, ProgramEvent, ReportRow } from '../types.ts';
import { EventMv } from './event-mv.tsx';
import { Timeline } from './events.tsx';

export function EventDetail({ id }: { id: string }) {
  const { session } = useApp();
  const event = useLoad(`event:${id}`, () => get<ProgramEvent>(`/api/events/${enc(id)}`));
  const program = useLoad(`program:${event.data?.programId ?? ''}`, async () =>
    event.data ? get<Program>(`/api/programs/${enc(event.data.programId)}`) : undefined,
  );
  const decisions = useLoad(`decisions:${id}`, () => get<DecisionRow[]>(`/api/events/${enc(id)}/decisions`));
  const reports = useLoad(`reports:${id}`, () => get<ReportRow[]>(`/api/events/${enc(id)}/reports`));
  useLive((message) => {
    if (message.type === 'event' && message.event.id === id) {
      event.update(() => message.event);
      decisions.reload();
      reports.reload();
    }
  });

  const data = event.data;
  return (
    <div class="page">
      <p class="crumbs">
        <a href={href(['events'])}>Events</a> ›
      </p>
      <h1>
        Event {id} {data ? <Badge value={data.status} testId="event-status" /> : null}
      </h1>
      <ErrorBox error={event.error} />
      <Loading when={event.loading && data === undefined} />
      {data ? (
        <>
          {canOperate(session) && ENDABLE_STATUSES.has(data.status) ? (
            <EndEvent event={data} onEnded={(ended) => event.update(() => ended)} />
          ) : null}
          <div class="columns">
            <Section title="Event">
              <EventFacts event={data} program={program.data} />
            </Section>
            <Section title="Status history">
              <ul class="history">
                {data.statusHistory.map((change) => (
                  <li key={`${change.at}/${change.status}`}>
                    {fmt.time(change.at)} <Badge value={change.status} />
                    {change.reason ? (
                      <span class="muted clamp" title={change.reason}>
                        {' '}
                        {change.reason}
                      </span>
                    ) : null}
                  </li>
                ))}
              </ul>
            </Section>
          </div>
          <Section title="Timeline">
            <EventTimeline event={data} />
          </Section>
          <Section title="Intervals and signals">
            <Intervals event={data} />
          </Section>
          <Section title="Measurement and verification (M&V)">
            <EventMv event={data} program={program.data} programLoading={program.loading} />
          </Section>
          <Section title="Arbitration and allocation">
            <ErrorBox error={decisions.error} />
            <Decisions rows={decisions.data ?? []} />
          </Section>
          <Section title="Sent upstream: reports and responses">
            <ErrorBox error={reports.error} />
            <Reports rows={reports.data ?? []} />
          </Section>
        </>
      ) : null}
    </div>
  );
}

function EventTimeline({ event }: { event: ProgramEvent }) {
  const span = eventSpan(event);
  const margin = Math.max(15 * 60_000, (span.end - span.start) / 4);
  return <Timeline events={[event]} from={span.start - margin} to={span.end + margin} now={Date.now()} />;
}

function EventFacts({ event, program }: { event: ProgramEvent; program: Program | undefined }) {
  const span = eventSpan(event);
  const targets = event.targets;
  const targetText = [
    targetList('site', targets.siteIds),
    targetList('group', targets.groupIds),
    targetList('device', targets.deviceIds),
  ]
    .filter((text) => text !== '')
    .join('; ');
  return (
    <Facts
      items={[
        ['Source', SOURCE_LABELS[event.source] ?? event.source],
        ['External id', event.externalId],
        ['Program', program ? `${program.name} (${program.id}, ${program.kind})` : event.programId],
        ['Primacy', String(event.primacy)],
        ['Start', fmt.time(span.start)],
        ['End', fmt.time(span.end)],
        ['Targets', targetText || 'every device enrolled in the program'],
        ['Created', fmt.time(event.createdAt)],
      ]}
    />
  );
}

/** "3 sites: a, b, c" in natural order; past TARGETS_NAMED ids, "and N more". */
const TARGETS_NAMED = 8;
function targetList(noun: string, ids: string[] | undefined): string {
  if (ids === undefined || ids.length === 0) return '';
  const sorted = [...ids].sort(fmt.naturalOrder);
  const named = sorted.slice(0, TARGETS_NAMED).join(', ');
  const more = sorted.length > TARGETS_NAMED ? ` and ${sorted.length - TARGETS_NAMED} more` : '';
  return `${sorted.length} ${noun}${sorted.length === 1 ? '' : 's'}: ${named}${more}`;
}

function Intervals({ event }: { event: ProgramEvent }) {
  return (
    <table data-testid="event-intervals">
      <thead>
        <tr>
          <th>Start</th>
          <th>Duration</th>
          <th>Signals</th>
        </tr>
      </thead>
      <tbody>
        {event.intervals.map((interval) => (
          <tr key={interval.start}>
            <td>{fmt.time(interval.start)}</td>
            <td>{fmt.duration(interval.durationS)}</td>
            <td>
              {interval.signals.map((signal) => (
                <span key={signal.kind} class="signal">
                  {signal.kind} {fmt.setpointValue(signal.kind, signal.value, signal.unit)}
                </span>
              ))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A decision key is `${scope.kind}:${scope.id}|${type}` (control/arbitrate.ts decisionKey). */
function scopeOf(key: string | undefined): { scope: string; type: string } {
  if (key === undefined) return { scope: '–', type: '–' };
  const [scope = key, type = ''] = key.split('|');
  return { scope, type };
}

/**
 * The setpoints of the newest decision with setpoints of each scope (a decision is per scope and
 * control type: an event over 20 sites has 20 current allocations, not one), by device.
 */
function latestAllocations(newestFirst: DecisionRow[]) {
  const seen = new Set<string>();
  const rows: Array<{ setpoint: NonNullable<DecisionRow['setpoints']>[number]; scope: string; at: number }> = [];
  for (const decision of newestFirst) {
    if ((decision.setpoints?.length ?? 0) === 0 || seen.has(decision.key ?? '')) continue;
    seen.add(decision.key ?? '');
    const { scope } = scopeOf(decision.key);
    for (const setpoint of decision.setpoints ?? []) rows.push({ setpoint, scope, at: decision.at });
  }
  return rows.sort((a, b) => fmt.naturalOrder(a.setpoint.deviceId, b.setpoint.deviceId));
}

/** Decisions listed before "show all": the engine decides every period, so a long event has many. */
const DECISIONS_SHOWN = 20;

function Decisions({ rows }: { rows: DecisionRow[] }) {
  const [all, setAll] = useState(false);
  if (rows.length === 0) return <p class="muted">The control engine has made no decision about this event yet.</p>;
  const newestFirst = [...rows].reverse();
  const allocations = latestAllocations(newestFirst);
  const listed = all ? newestFirst : newestFirst.slice(0, DECISIONS_SHOWN);
  return (
    <>
      <table data-testid="event-decisions">
        <thead>
          <tr>
            <th>At</th>
            <th>Scope</th>
            <th>Control</th>
            <th>Role</th>
            <th class="num">Winner value</th>
            <th>Why</th>
            <th>Allocation</th>
          </tr>
        </thead>
        <tbody>
          {listed.map((row) => {
            const { scope, type } = scopeOf(row.key);
            return (
              <tr key={row.seq}>
                <td class="nowrap">{fmt.time(row.at)}</td>
                <td class="nowrap">{scope}</td>
                <td class="nowrap">{type}</td>
                <td>{row.role ? <Badge value={row.role === 'winner' ? 'won' : 'lost'} /> : '–'}</td>
                <td class="num">{row.winner ? fmt.setpointValue(type, row.winner.value) : '–'}</td>
                <td title={row.summary}>
                  {row.role === 'loser' && row.winner ? `won by ${row.winner.ref ?? row.winner.id}: ` : null}
                  {row.winnerReason ?? row.summary}
                  {(row.losers ?? []).map((loser) => (
                    <div key={loser.id} class="small muted">
                      lost: {loser.ref ?? loser.id} ({loser.code}) {loser.reason}
                    </div>
                  ))}
                </td>
                <td>
                  {row.allocation ? (
                    <>
                      <Badge value={row.allocation.met ? 'met' : 'short'} />{' '}
                      {row.allocation.shortfallW > 0 ? `short ${fmt.power(row.allocation.shortfallW)}` : ''}
                      <div class="small muted">{row.allocation.reason}</div>
                      {row.allocation.excluded.length > 0 ? (
                        <div class="small muted">
                          excluded: {row.allocation.excluded.map((e) => `${e.deviceId} (${e.reason})`).join(', ')}
                        </div>
                      ) : null}
                    </>
                  ) : (
                    '–'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <ShowAll shown={listed.length} total={newestFirst.length} noun="decisions" onAll={() => setAll(true)} />
      {allocations.length > 0 ? (
        <>
          <h3>Per-device allocation: the latest of each scope</h3>
          <table data-testid="event-allocation">
            <thead>
              <tr>
                <th>Device</th>
                <th>Scope</th>
                <th>Setpoint</th>
                <th class="num">Value</th>
                <th>Decided</th>
              </tr>
            </thead>
            <tbody>
              {allocations.map(({ setpoint, scope, at }) => (
                <tr key={`${scope}/${setpoint.deviceId}/${setpoint.kind}`}>
                  <td>
                    <a href={href(['devices', setpoint.deviceId])}>{setpoint.deviceId}</a>
                  </td>
                  <td class="nowrap">{scope}</td>
                  <td>{setpoint.kind}</td>
                  <td class="num">{fmt.setpointValue(setpoint.kind, setpoint.value)}</td>
                  <td class="nowrap">{fmt.time(at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </>
  );
}

const REPORT_KINDS: Readonly<Record<string, string>> = {
  'ieee2030_5.response': 'IEEE 2030.5 Response',
  'openadr3.report': 'OpenADR 3 report',
  'openadr2b.report': 'OpenADR 2.0b report',
};

/** What was sent: a 2030.5 Response's status (Table 27), an OpenADR report's name. */
function reportSubject(row: ReportRow): string {
  if (typeof row.status === 'number') return `${row.status} ${RESPONSE_STATUS_NAMES[row.status] ?? ''}`.trim();
  if (typeof row.reportName === 'string') return row.reportName;
  return '–';
}

function reportOutcome(row: ReportRow) {
  if (row.sent === false) return <Badge value="not sent" />;
  if (typeof row.accepted === 'boolean') return <Badge value={row.accepted ? 'accepted' : 'refused'} />;
  return '–';
}

function text(value: unknown): string {
  const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return shown.length > 60 ? `${shown.slice(0, 57)}…` : shown;
}

function reportDetail(row: ReportRow): string {
  const parts: string[] = [];
  if (typeof row.mRID === 'string') parts.push(`mRID ${row.mRID}`);
  if (typeof row.endDeviceLfdi === 'string') parts.push(`LFDI ${text(row.endDeviceLfdi)}`);
  if (typeof row.replyTo === 'string') parts.push(`to ${row.replyTo}`);
  const period = row.period as { start?: number; end?: number } | undefined;
  if (typeof period?.start === 'number') parts.push(`data ${fmt.time(period.start)} – ${fmt.time(period.end)}`);
  if (typeof row.resourceCount === 'number') parts.push(`${row.resourceCount} resources`);
  if (typeof row.intervals === 'number') parts.push(`${row.intervals} intervals`);
  if (typeof row.values === 'object' && row.values !== null) {
    const keys = Object.keys(row.values);
    if (keys.length > 0) parts.push(`values: ${text(keys.join(', '))}`);
  }
  if (typeof row.reason === 'string') parts.push(row.reason);
  return parts.join(' · ');
}

/** Reports and Responses listed before "show all" (one Response per EndDevice and status adds up). */
const REPORTS_SHOWN = 20;

function Reports({ rows }: { rows: ReportRow[] }) {
  const [all, setAll] = useState(false);
  if (rows.length === 0) return <p class="muted">Nothing sent upstream for this event yet.</p>;
  const listed = all ? rows : rows.slice(0, REPORTS_SHOWN);
  return (
    <>
      <table data-testid="event-reports">
        <thead>
          <tr>
            <th>At</th>
            <th>Kind</th>
            <th>Status / report</th>
            <th>Outcome</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {listed.map((row) => (
            <tr key={row.seq}>
              <td class="nowrap">{fmt.time(row.at)}</td>
              <td>{REPORT_KINDS[row.action] ?? row.action}</td>
              <td>{reportSubject(row)}</td>
              <td>{reportOutcome(row)}</td>
              <td class="small">{reportDetail(row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ShowAll shown={listed.length} total={rows.length} noun="sent upstream" onAll={() => setAll(true)} />
    </>
  );
}

/**
 * Ends the event with status `cancelled` (docs/reference/api.md: scheduled, active and opted-out
 * may move to cancelled). Two clicks, so a stray one does nothing.
 */
function EndEvent({ event, onEnded }: { event: ProgramEvent; onEnded: (event: ProgramEvent) => void }) {
  const [armed, setArmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const end = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onEnded(
        await post<ProgramEvent>(`/api/events/${enc(event.id)}/status`, {
          status: 'cancelled',
          reason: 'ended by an operator in the console',
        }),
      );
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
      setArmed(false);
    }
  };
  return (
    <div class="actions">
      {armed ? (
        <>
          <button type="button" class="danger" data-testid="end-event-confirm" disabled={busy} onClick={end}>
            Confirm: end event now
          </button>
          <button type="button" onClick={() => setArmed(false)}>
            Keep it
          </button>
        </>
      ) : (
        <button type="button" class="danger" data-testid="end-event" onClick={() => setArmed(true)}>
          End event…
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}
