/**
 * The client's schedule per EndDevice (pure): the controls it knows (merged over polls, so a control that leaves
 * the list is still answered), turned into the event rules' inputs (src/events), and resolved at a server-time
 * `now` into the applied value per control type and the Responses due.
 *
 * Rules added here, on top of src/events:
 * - a control that disappears from a successfully fetched list before its window ended is treated as cancelled at
 *   the moment it disappeared (Response 6 when asked for); one that disappears after its end is kept until its
 *   terminal Response was sent, then forgotten;
 * - communication loss: with `commsLost`, the active controls are dropped and the DefaultDERControls apply (the
 *   CSIP-AUS behaviour "falls back to a default control"); Responses are still computed from what is known;
 * - a failure outcome reported by the device (e.g. 252/253/10) ends the specific responses for that control.
 */
import {
  type ActiveSchedule,
  type DueResponse,
  resolveActiveControls,
  responseKey,
  responsesDue,
  stateFromEventStatus,
} from '../events/client.ts';
import type { DefaultControl, RandomizationOffsets, ScheduledControl } from '../events/types.ts';
import { CONTROL_RESPONSE } from '../events/types.ts';
import type { DERControl } from '../resources/types.ts';
import type { DiscoveredProgram } from './discovery.ts';

/** A control as the client remembers it. */
export interface KnownControl {
  control: DERControl;
  programHref: string;
  primacy: number;
  /** Server time at which it was no longer listed. */
  vanishedAt?: number;
}

/** The controls of an EndDevice's programs, deduplicated by mRID (first program in primacy order wins). */
export function controlsOf(programs: readonly DiscoveredProgram[]): KnownControl[] {
  const out = new Map<string, KnownControl>();
  const ordered = [...programs].sort((a, b) => a.primacy - b.primacy);
  for (const program of ordered) {
    for (const control of program.controls) {
      const mRID = control.mRID.toLowerCase();
      if (!out.has(mRID)) out.set(mRID, { control, programHref: program.href, primacy: program.primacy });
    }
  }
  return [...out.values()];
}

export function defaultsOf(programs: readonly DiscoveredProgram[]): DefaultControl[] {
  const out: DefaultControl[] = [];
  for (const program of programs) {
    const fallback = program.defaultControl;
    if (fallback === undefined) continue;
    out.push({
      programId: program.href,
      programPrimacy: program.primacy,
      mRID: fallback.mRID.toLowerCase(),
      DERControlBase: fallback.DERControlBase,
    });
  }
  return out;
}

function windowEnd(control: DERControl): number {
  return control.interval.start + control.interval.duration;
}

/**
 * Merges a freshly fetched control set into the known one at server time `now`. `terminal(mRID)` says whether
 * the terminal Response for a control was already sent (then a vanished control is forgotten).
 */
export function mergeKnown(
  previous: readonly KnownControl[],
  fetched: readonly KnownControl[],
  now: number,
  terminal: (mRID: string) => boolean,
  keepSeconds = 86_400,
): KnownControl[] {
  const byMrid = new Map(fetched.map((known) => [known.control.mRID.toLowerCase(), known]));
  const out: KnownControl[] = [...fetched];
  for (const old of previous) {
    const mRID = old.control.mRID.toLowerCase();
    if (byMrid.has(mRID)) continue;
    const vanishedAt = old.vanishedAt ?? now;
    const end = windowEnd(old.control);
    if (terminal(mRID) || now > Math.max(end, vanishedAt) + keepSeconds) continue;
    out.push({ ...old, vanishedAt });
  }
  return out;
}

export function toScheduled(known: KnownControl): ScheduledControl {
  const { control } = known;
  const scheduled: ScheduledControl = {
    mRID: control.mRID.toLowerCase(),
    creationTime: control.creationTime,
    interval: control.interval,
    randomizeStart: control.randomizeStart,
    randomizeDuration: control.randomizeDuration,
    DERControlBase: control.DERControlBase,
    programId: known.programHref,
    programPrimacy: known.primacy,
    responseRequired: control.responseRequired,
    ...stateFromEventStatus(control.EventStatus),
  };
  // Vanished before its end: cancelled when it vanished (unless the server already said so).
  if (known.vanishedAt !== undefined && scheduled.cancelled === undefined && known.vanishedAt < windowEnd(control)) {
    scheduled.cancelled = { at: known.vanishedAt, randomized: false };
  }
  return scheduled;
}

export interface EvaluateInput {
  known: readonly KnownControl[];
  defaults: readonly DefaultControl[];
  /** Server time, epoch seconds. */
  now: number;
  offsets: ReadonlyMap<string, RandomizationOffsets>;
  /** responseKey(mRID, status) of Responses already sent (or refused by the server). */
  sent: ReadonlySet<string>;
  /** mRIDs for which the device reported a failure outcome. */
  failed: ReadonlySet<string>;
  commsLost: boolean;
}

export interface Evaluation {
  schedule: ActiveSchedule;
  due: DueResponse[];
}

export function evaluate(input: EvaluateInput): Evaluation {
  const controls = input.known.map(toScheduled);
  const schedule = resolveActiveControls({
    controls: input.commsLost ? [] : controls,
    defaults: input.defaults,
    now: input.now,
    offsets: input.offsets,
  });
  // A failure outcome is terminal: pretend Completed was sent so no Started/Completed follows.
  const sent = new Set(input.sent);
  for (const mRID of input.failed) sent.add(responseKey(mRID, CONTROL_RESPONSE.Completed));
  const due = responsesDue({ controls, defaults: input.defaults, now: input.now, offsets: input.offsets, sent }).filter(
    (response) => !(input.failed.has(response.mRID) && response.status === CONTROL_RESPONSE.Completed),
  );
  return { schedule, due };
}
