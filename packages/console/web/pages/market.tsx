/**
 * #/market — the market interface (docs/reference/api.md "Market", docs/settlement.md "Aggregations
 * (FERC 2222)" and "Offers and awards"): every FERC 2222 aggregation (GET /api/market/aggregations)
 * with its ISO, resource id, registration state and history, the members in force and their
 * capacity against the minimum size, the pricing nodes and their distribution factors in force, and
 * the validation problems; the awards imported (GET /api/market/awards, from two days ago to a day
 * ahead) with the program events they became. Operators move registrations to their legal next
 * states (POST /api/market/aggregations/{id}/registration) and import award files
 * (POST /api/market/awards, text/csv or application/json by the file's extension).
 */
import { useState } from 'preact/hooks';
import { ApiError, enc, get, post, storedToken, withQuery } from '../api.ts';
import { Badge, ErrorBox, Facts, Loading, Section, Stat } from '../components.tsx';
import * as fmt from '../format.ts';
import { canOperate, useApp, useLoad } from '../hooks.ts';
import { href } from '../router.ts';
import type {
  AggregationMember,
  AggregationProblem,
  AggregationView,
  AwardImport,
  DistributionFactor,
  RegistrationState,
  StoredAward,
  ValidityPeriod,
} from '../types.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Awards listed: from two days back to one day ahead of the page's load. */
const AWARDS_BACK_MS = 2 * DAY_MS;
const AWARDS_AHEAD_MS = DAY_MS;
/** The API's bound on an award file (routes/market.ts AWARDS_BODY_LIMIT_BYTES). */
const AWARDS_MAX_BYTES = 1024 * 1024;
/** Factor sums within this of 1 are whole (validateAggregation's tolerance). */
const FACTOR_TOLERANCE = 1e-6;

const MOVE_LABELS: Readonly<Record<RegistrationState, string>> = {
  draft: 'Back to draft',
  'utility-review': 'Submit to utility review',
  'iso-review': 'Send to ISO review',
  active: 'Activate',
  suspended: 'Suspend',
  rejected: 'Reject',
  withdrawn: 'Withdraw',
};

export function inForce(period: ValidityPeriod, at: number): boolean {
  return period.validFrom <= at && (period.validTo === undefined || at < period.validTo);
}

function period(item: ValidityPeriod): string {
  return `${fmt.time(item.validFrom)} – ${item.validTo === undefined ? 'open' : fmt.time(item.validTo)}`;
}

export function Market() {
  const { session } = useApp();
  const [loadedAt] = useState(() => Date.now());
  const aggregations = useLoad('market-aggregations', () => get<AggregationView[]>('/api/market/aggregations'));
  const span = { from: loadedAt - AWARDS_BACK_MS, to: loadedAt + AWARDS_AHEAD_MS };
  const awards = useLoad('market-awards', () => get<StoredAward[]>(withQuery('/api/market/awards', span)));
  const operator = canOperate(session);
  const views = [...(aggregations.data ?? [])].sort((a, b) => fmt.naturalOrder(a.aggregation.id, b.aggregation.id));
  return (
    <div class="page">
      <h1>Market</h1>
      <ErrorBox error={aggregations.error} />
      <Loading when={aggregations.loading && aggregations.data === undefined} />
      {aggregations.data !== undefined && views.length === 0 ? (
        <p class="notice" data-testid="market-none">
          No aggregation is registered yet (PUT /api/market/aggregations/ID, docs/reference/api.md "Market").
        </p>
      ) : null}
      {views.map((view) => (
        <AggregationPanel
          key={view.aggregation.id}
          view={view}
          operator={operator}
          onChanged={(next) =>
            aggregations.update((current) =>
              (current ?? []).map((v) => (v.aggregation.id === next.aggregation.id ? next : v)),
            )
          }
        />
      ))}
      {operator ? (
        <AwardUpload
          onImported={() => {
            awards.reload();
            aggregations.reload();
          }}
        />
      ) : null}
      <Section title="Awards">
        <p class="muted small">
          Imported awards from {fmt.time(span.from)} to {fmt.time(span.to)}, by start; each became program events of its
          aggregation's program for the control engine.
        </p>
        <ErrorBox error={awards.error} />
        <Loading when={awards.loading && awards.data === undefined} />
        {awards.data !== undefined ? <AwardTable awards={awards.data} /> : null}
      </Section>
    </div>
  );
}

function AggregationPanel(props: {
  view: AggregationView;
  operator: boolean;
  onChanged: (view: AggregationView) => void;
}) {
  const { aggregation, problems, capacityKw, minimumSizeKw: minimum, timeZone, utilityReviewDue } = props.view;
  const [now] = useState(() => Date.now());
  const id = `aggregation-${aggregation.id}`;
  const state = aggregation.registration.state;
  return (
    <section class="panel" data-testid={id} data-state={state}>
      <header class="panel-head">
        <h2>
          Aggregation {aggregation.name ? `${aggregation.name} (${aggregation.id})` : aggregation.id}{' '}
          <Badge value={state} testId={`${id}-state`} />
        </h2>
      </header>
      <div class="stats compact">
        <Stat
          label="Capacity in force"
          value={fmt.kw(capacityKw)}
          raw={capacityKw}
          testId={`${id}-capacity`}
          detail={`minimum ${fmt.kw(minimum)}${aggregation.minimumSizeKw === undefined ? ` (${aggregation.iso} default)` : ''}`}
          {...(capacityKw < minimum ? { tone: 'bad' as const } : {})}
        />
        <Stat
          label="Members in force"
          value={fmt.count(aggregation.members.filter((m) => inForce(m, now)).length)}
          raw={aggregation.members.filter((m) => inForce(m, now)).length}
          testId={`${id}-members-count`}
        />
        <Stat
          label="Problems"
          value={fmt.count(problems.length)}
          raw={problems.length}
          testId={`${id}-problems-count`}
          detail={`${problems.filter((p) => p.code === 'stacking').length} warning(s)`}
          {...(problems.some((p) => p.code !== 'stacking') ? { tone: 'bad' as const } : {})}
        />
      </div>
      <div class="columns">
        <div>
          <Facts
            items={[
              ['ISO', aggregation.iso],
              ['Resource id', <code key="r">{aggregation.resourceId}</code>],
              ['Participation model', aggregation.participationModel],
              ['Market clock', timeZone],
              [
                'Distribution utility',
                `${aggregation.utility.name}${aggregation.utility.reviewDays === undefined ? '' : ` (review ${aggregation.utility.reviewDays} days)`}`,
              ],
              ['Utility review due', utilityReviewDue === undefined ? undefined : fmt.time(utilityReviewDue)],
              [
                'Award events target',
                aggregation.groupId === undefined ? 'the members in force' : `group ${aggregation.groupId}`,
              ],
              [
                'Award primacy',
                aggregation.awardPrimacy === undefined ? '150 (default)' : String(aggregation.awardPrimacy),
              ],
            ]}
          />
        </div>
        <div>
          <h3>Registration history</h3>
          <ul class="history" data-testid={`${id}-history`}>
            {aggregation.registration.history.map((change, index) => (
              <li key={`${index}/${change.at}`}>
                {fmt.time(change.at)} <Badge value={change.state} /> <span class="muted">by {change.actor}</span>
                {change.note ? <span class="muted"> · {change.note}</span> : null}
              </li>
            ))}
          </ul>
          {props.operator ? <RegistrationMoves view={props.view} onMoved={props.onChanged} /> : null}
        </div>
      </div>
      <Members members={aggregation.members} now={now} testId={`${id}-members`} />
      <Factors
        pricingNodes={aggregation.pricingNodes}
        factors={aggregation.distributionFactors}
        now={now}
        testId={`${id}-factors`}
      />
      <Problems problems={problems} testId={`${id}-problems`} />
    </section>
  );
}

function RegistrationMoves({ view, onMoved }: { view: AggregationView; onMoved: (view: AggregationView) => void }) {
  const { aggregation, nextStates: moves } = view;
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  if (moves.length === 0) return <p class="muted small">Withdrawn: no further registration move.</p>;
  const move = async (to: RegistrationState) => {
    setBusy(true);
    setError(undefined);
    try {
      onMoved(
        await post<AggregationView>(`/api/market/aggregations/${enc(aggregation.id)}/registration`, {
          to,
          ...(note.trim() === '' ? {} : { note: note.trim() }),
        }),
      );
      setNote('');
    } catch (failure) {
      setError(failure as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div data-testid={`aggregation-${aggregation.id}-registration`}>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Note (optional)
          <input
            type="text"
            maxLength={1024}
            value={note}
            data-testid={`aggregation-${aggregation.id}-note`}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
        </label>
        {moves.map((to) => (
          <button
            type="button"
            key={to}
            class={to === 'withdrawn' || to === 'rejected' || to === 'suspended' ? 'danger' : ''}
            data-testid={`registration-${aggregation.id}-${to}`}
            disabled={busy}
            onClick={() => move(to)}
          >
            {MOVE_LABELS[to]}
          </button>
        ))}
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

function Members({ members, now, testId }: { members: AggregationMember[]; now: number; testId: string }) {
  const current = members.filter((m) => inForce(m, now)).sort((a, b) => fmt.naturalOrder(a.deviceId, b.deviceId));
  const others = members.length - current.length;
  return (
    <>
      <h3>Members in force</h3>
      {current.length === 0 ? (
        <p class="muted">No member is in force now.</p>
      ) : (
        <table data-testid={testId}>
          <thead>
            <tr>
              <th>Device</th>
              <th>Site</th>
              <th>Pricing node</th>
              <th class="num">Capacity</th>
              <th>Period</th>
              <th>Retail programs</th>
            </tr>
          </thead>
          <tbody>
            {current.map((member) => (
              <tr key={`${member.deviceId}/${member.validFrom}`} data-testid={`${testId}-${member.deviceId}`}>
                <td>
                  <a href={href(['devices', member.deviceId])}>{member.deviceId}</a>
                </td>
                <td>{member.siteId}</td>
                <td>
                  <code>{member.pnode}</code>
                </td>
                <td class="num" data-value={String(member.capacityKw)}>
                  {fmt.kw(member.capacityKw)}
                </td>
                <td class="small nowrap">{period(member)}</td>
                <td class="small">
                  {(member.retailPrograms ?? []).filter((r) => inForce(r, now)).length === 0
                    ? '–'
                    : (member.retailPrograms ?? [])
                        .filter((r) => inForce(r, now))
                        .map((r) => `${r.programId}${r.allowsWholesaleStacking ? ' (stacking allowed)' : ''}`)
                        .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {others > 0 ? (
        <p class="muted small">
          {others} membership period{others === 1 ? '' : 's'} not in force now (past or future).
        </p>
      ) : null}
    </>
  );
}

/** Per pricing node, the factor in force now; the sum must be 1 (validateAggregation, 'factor-sum'). */
function Factors(props: { pricingNodes: string[]; factors: DistributionFactor[]; now: number; testId: string }) {
  const current = props.factors.filter((f) => inForce(f, props.now));
  const nodes = [...new Set([...props.pricingNodes, ...current.map((f) => f.pnode)])];
  const sum = current.reduce((total, f) => total + f.factor, 0);
  const whole = Math.abs(sum - 1) <= FACTOR_TOLERANCE;
  return (
    <>
      <h3>Pricing nodes and distribution factors in force</h3>
      <table data-testid={props.testId}>
        <thead>
          <tr>
            <th>Pricing node</th>
            <th class="num">Factor</th>
            <th>Period</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((pnode) => {
            const factor = current.find((f) => f.pnode === pnode);
            return (
              <tr key={pnode} data-testid={`${props.testId}-${pnode}`}>
                <td>
                  <code>{pnode}</code>
                  {props.pricingNodes.includes(pnode) ? null : <span class="muted small"> (not a pricing node)</span>}
                </td>
                <td class="num" data-value={factor === undefined ? '' : String(factor.factor)}>
                  {factor === undefined ? '–' : fmt.decimal(factor.factor, 6)}
                </td>
                <td class="small nowrap">{factor === undefined ? 'none in force' : period(factor)}</td>
              </tr>
            );
          })}
          <tr class="total">
            <td>Sum</td>
            <td class="num" data-testid={`${props.testId}-sum`} data-value={String(sum)}>
              {fmt.decimal(sum, 6)} {whole ? null : <Badge value="not 1" />}
            </td>
            <td />
          </tr>
        </tbody>
      </table>
    </>
  );
}

function Problems({ problems, testId }: { problems: AggregationProblem[]; testId: string }) {
  if (problems.length === 0)
    return (
      <p class="ok" data-testid={testId} data-count="0">
        No validation problem from now on.
      </p>
    );
  return (
    <>
      <h3>Validation problems</h3>
      <ul class="history" data-testid={testId} data-count={String(problems.length)}>
        {problems.map((problem, index) => (
          <li key={`${index}/${problem.code}`}>
            <Badge value={problem.code === 'stacking' ? 'warning' : 'blocks registration'} />{' '}
            <code>{problem.code}</code>
            {problem.at === undefined ? null : <span class="muted"> at {fmt.time(problem.at)}</span>} {problem.message}
          </li>
        ))}
      </ul>
    </>
  );
}

function AwardTable({ awards }: { awards: StoredAward[] }) {
  if (awards.length === 0)
    return (
      <p class="muted" data-testid="awards-none">
        No award in this window.
      </p>
    );
  const sorted = [...awards].sort(
    (a, b) => a.interval.startMs - b.interval.startMs || (a.product < b.product ? -1 : 1),
  );
  return (
    <table data-testid="awards">
      <thead>
        <tr>
          <th>Interval</th>
          <th>Market</th>
          <th>Resource</th>
          <th>Product</th>
          <th class="num">MW</th>
          <th class="num">Clearing price</th>
          <th>Aggregation</th>
          <th>Events</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((award) => {
          const key = `${award.interval.startMs}|${award.resourceId}|${award.interval.market}|${award.product}`;
          return (
            <tr key={key} data-testid="award-row">
              <td class="nowrap" title={`${award.interval.start} – ${award.interval.end}`}>
                {fmt.time(award.interval.startMs)} – {fmt.clock(award.interval.endMs)}
                {award.interval.endMs - award.interval.startMs !== HOUR_MS ? (
                  <span class="muted small">
                    {' '}
                    ({fmt.duration((award.interval.endMs - award.interval.startMs) / 1000)})
                  </span>
                ) : null}
              </td>
              <td>{award.interval.market}</td>
              <td>
                <code>{award.resourceId}</code>
              </td>
              <td>{award.product}</td>
              <td class="num" data-value={String(award.mw)}>
                {fmt.decimal(award.mw, 3)}
              </td>
              <td class="num">
                {fmt.decimal(award.clearingPrice, 2)} {award.product === 'ENERGY' ? '$/MWh' : '$/MW-h'}
              </td>
              <td>{award.aggregationId}</td>
              <td>
                {award.eventIds.length === 0
                  ? '–'
                  : award.eventIds.map((eventId) => (
                      <div key={eventId}>
                        <a href={href(['events', eventId])} data-testid="award-event-link" class="small">
                          {eventId}
                        </a>
                      </div>
                    ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The content type of an award file by its extension (the API reads text/csv and application/json). */
export function awardContentType(filename: string): 'text/csv' | 'application/json' | undefined {
  const lower = filename.toLowerCase();
  if (lower.endsWith('.csv')) return 'text/csv';
  if (lower.endsWith('.json')) return 'application/json';
  return undefined;
}

/** POST a text body as is (the award import reads its body as text); failures carry the API's code. */
async function postText<T>(path: string, text: string, contentType: string): Promise<T> {
  const token = storedToken();
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': contentType,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: text,
    });
  } catch (error) {
    throw new ApiError(0, {
      code: 'GW_ERR_NETWORK',
      message: `the gateway did not answer: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  const body = await response.text();
  if (!response.ok) {
    let error = { code: `HTTP_${response.status}`, message: body.slice(0, 200) || response.statusText };
    try {
      const parsed = JSON.parse(body) as typeof error;
      if (typeof parsed.code === 'string' && typeof parsed.message === 'string') error = parsed;
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(response.status, error);
  }
  return JSON.parse(body) as T;
}

function AwardUpload({ onImported }: { onImported: () => void }) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [timeZone, setTimeZone] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [done, setDone] = useState<AwardImport | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (file === undefined) return;
    setError(undefined);
    setDone(undefined);
    const contentType = awardContentType(file.name);
    if (contentType === undefined) {
      setError(
        new ApiError(0, { code: 'GW_ERR_CONSOLE', message: `${file.name}: an award file ends in .csv or .json` }),
      );
      return;
    }
    if (file.size > AWARDS_MAX_BYTES) {
      setError(
        new ApiError(413, {
          code: 'GW_ERR_BODY_TOO_LARGE',
          message: `${file.name} has ${fmt.count(file.size)} bytes; the API takes at most ${fmt.count(AWARDS_MAX_BYTES)}`,
        }),
      );
      return;
    }
    setBusy(true);
    try {
      const text = await file.text();
      const path = withQuery('/api/market/awards', { timeZone: timeZone.trim() === '' ? undefined : timeZone.trim() });
      setDone(await postText<AwardImport>(path, text, contentType));
      onImported();
    } catch (failure) {
      setError(
        failure instanceof ApiError
          ? failure
          : new ApiError(0, {
              code: 'GW_ERR_CONSOLE',
              message: failure instanceof Error ? failure.message : String(failure),
            }),
      );
    } finally {
      setBusy(false);
    }
  };
  const created = done?.events.filter((e) => e.created).length ?? 0;
  return (
    <Section title="Import awards">
      <form class="filters" data-testid="awards-form" onSubmit={submit}>
        <label>
          Award file (.csv or .json, at most 1 MiB)
          <input
            type="file"
            accept=".csv,.json,text/csv,application/json"
            data-testid="awards-file"
            onChange={(e) => setFile(e.currentTarget.files?.[0])}
          />
        </label>
        <label>
          Time zone of date,hour_ending rows
          <input
            type="text"
            placeholder="e.g. America/Los_Angeles"
            maxLength={64}
            value={timeZone}
            onInput={(e) => setTimeZone(e.currentTarget.value)}
          />
        </label>
        <button type="submit" data-testid="awards-import" disabled={busy || file === undefined}>
          {busy ? 'Importing…' : 'Import'}
        </button>
      </form>
      <p class="muted small">
        CSV header <code>resource_id,start,end,market,product,mw,clearing_price</code> (times ISO-8601 with an offset,
        or <code>date,hour_ending</code> with the time zone), or JSON awards; every award's resource must be an active
        aggregation's, and nothing is written if any award is refused.
      </p>
      <ErrorBox error={error} />
      {done !== undefined && error === undefined ? (
        <div
          class="ok"
          data-testid="awards-imported"
          data-awards={String(done.awards)}
          data-events={String(done.events.length)}
        >
          Imported {fmt.count(done.awards)} award{done.awards === 1 ? '' : 's'} into {fmt.count(done.events.length)}{' '}
          event
          {done.events.length === 1 ? '' : 's'} ({created} created, {done.events.length - created} updated):
          <ul>
            {done.events.map((e) => (
              <li key={e.id}>
                <a href={href(['events', e.id])}>{e.id}</a>{' '}
                <span class="muted small">
                  {e.programId}, {fmt.time(e.start)} – {fmt.clock(e.end)}, {e.intervals} interval
                  {e.intervals === 1 ? '' : 's'}
                </span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </Section>
  );
}
