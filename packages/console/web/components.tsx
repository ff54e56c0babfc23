import type { ComponentChildren } from 'preact';
import type { ApiError } from './api.ts';
import * as fmt from './format.ts';
import type { LiveStatus } from './live.ts';

/** An API failure with its stable code and message (docs/reference/errors.md). */
export function ErrorBox({ error }: { error: ApiError | undefined }) {
  if (error === undefined) return null;
  return (
    <div class="error" role="alert" data-testid="api-error">
      <code>{error.code}</code> {error.message}
      {error.issues.length > 0 ? (
        <ul>
          {error.issues.map((issue) => (
            <li key={issue.path}>
              <code>{issue.path || '/'}</code> {issue.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="muted">Loading…</p> : null;
}

const GOOD = new Set([
  'confirmed',
  'active',
  'online',
  'running',
  'live',
  'completed',
  'charging',
  'discharging',
  'met',
  'won',
  'accepted',
  'planned',
]);
const BAD = new Set([
  'failed',
  'expired',
  'offline',
  'fault',
  'unavailable',
  'cancelled',
  'refused',
  'short',
  'not sent',
]);
const WAIT = new Set(['left out', 'pending', 'sent', 'scheduled', 'connecting', 'starting', 'throttled', 'opted-out']);

/** A status word with a colour that says good, bad, waiting or neutral. */
export function Badge({ value, testId }: { value: string; testId?: string }) {
  const tone = GOOD.has(value) ? 'good' : BAD.has(value) ? 'bad' : WAIT.has(value) ? 'wait' : 'neutral';
  return (
    <span class={`badge ${tone}`} data-testid={testId}>
      {value}
    </span>
  );
}

/** A headline number; `raw` (the unformatted value) goes into data-value for tests and tools. */
export function Stat(props: {
  label: string;
  value: string;
  raw: number | null;
  testId: string;
  detail?: ComponentChildren;
  /** Where the number leads (e.g. the device list filtered to the devices it counts). */
  href?: string;
  /** 'bad' draws the number in the alarm colour (e.g. devices offline). */
  tone?: 'bad';
}) {
  return (
    <div class="stat">
      <div class="stat-label">
        {props.href ? (
          <a href={props.href} title={`Show: ${props.label.toLowerCase()}`}>
            {props.label} ›
          </a>
        ) : (
          props.label
        )}
      </div>
      <div
        class={props.tone === 'bad' ? 'stat-value bad' : 'stat-value'}
        data-testid={props.testId}
        data-value={props.raw === null ? '' : String(props.raw)}
      >
        {props.value}
      </div>
      {props.detail ? <div class="stat-detail">{props.detail}</div> : null}
    </div>
  );
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="panel">
      <header class="panel-head">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/** A row of buttons choosing one of `labels`, the chosen one marked `selected`; `title` says what they choose. */
export function Segmented(props: {
  labels: readonly string[];
  selected: number;
  onSelect: (index: number) => void;
  title?: string;
}) {
  return (
    <span class="segmented" title={props.title}>
      {props.labels.map((label, index) => (
        <button
          type="button"
          key={label}
          class={index === props.selected ? 'selected' : ''}
          onClick={() => props.onSelect(index)}
        >
          {label}
        </button>
      ))}
    </span>
  );
}

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  offline: 'offline, reconnecting',
  refused: 'live feed refused',
};

/** The WebSocket's state, always visible in the header. */
export function ConnectionIndicator({ status }: { status: LiveStatus }) {
  return (
    <span class={`connection ${status}`} data-testid="live-status" data-status={status} title="Live updates">
      <span class="dot" aria-hidden="true" />
      {LIVE_TEXT[status]}
    </span>
  );
}

/** Key/value pairs as a definition list; absent values are left out. */
export function Facts({ items }: { items: Array<[string, ComponentChildren | undefined]> }) {
  return (
    <dl class="facts">
      {items
        .filter(([, value]) => value !== undefined && value !== null && value !== '')
        .map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
    </dl>
  );
}

/** Under a list cut to its newest rows: how many are shown and a button for the rest. */
export function ShowAll(props: { shown: number; total: number; noun: string; onAll: () => void; testId?: string }) {
  if (props.shown >= props.total) return null;
  return (
    <p class="muted small" data-testid={props.testId}>
      The newest {props.shown} of {props.total} {props.noun}.{' '}
      <button type="button" class="link-inline" onClick={props.onAll}>
        Show all
      </button>
    </p>
  );
}

/** Net discharge in words: "2.50 kW discharge", "1.20 kW charge", "idle". */
export function PowerWords({ kw }: { kw: number }) {
  if (Math.abs(kw) < 0.0005) return <span class="muted">idle</span>;
  return (
    <span class={kw > 0 ? 'discharge' : 'charge'}>
      {fmt.kw(Math.abs(kw))} {kw > 0 ? 'discharge' : 'charge'}
    </span>
  );
}
