/**
 * Server-side event rules: the EventStatus a utility server reports for a DERControl at request time, how long a
 * control stays listed, and which stored controls a newly inserted control supersedes. All functions are pure;
 * `now` is epoch seconds.
 */
import { controlTypesOf, intervalsOverlap } from './control-types.ts';
import { earliestEffectiveStart, hasRandomization, latestEffectiveEnd } from './randomization.ts';
import { CURRENT_STATUS, type CurrentStatus, type ScheduledControl } from './types.ts';

/** What the server puts in DERControl.EventStatus. */
export interface ServerEventStatus {
  currentStatus: CurrentStatus;
  dateTime: number;
  potentiallySuperseded: boolean;
  potentiallySupersededTime?: number;
}

type StatusInput = Pick<
  ScheduledControl,
  | 'creationTime'
  | 'interval'
  | 'randomizeStart'
  | 'randomizeDuration'
  | 'cancelled'
  | 'superseded'
  | 'potentiallySuperseded'
>;

/**
 * EventStatus computed per request (2030.5 EventStatus.currentStatus; envoy computes it the same way at read time):
 * - cancelled (from `cancelled.at` on): 3 Cancelled with Randomization when the cancellation is randomized (by
 *   default: when the control has randomisation; 3 is only for RandomizableEvents), else 2; dateTime = `at`;
 * - superseded (from `superseded.at` on): 4, dateTime = `at`;
 * - otherwise 1 Active from the earliest Effective Start Time on (start + min(0, randomizeStart)), dateTime = that
 *   time or creationTime when the control was created later; a control whose start is not in the future is never
 *   Scheduled. A completed control also stays Active until the server drops it at `visibleUntil`;
 * - else 0 Scheduled, dateTime = creationTime.
 * A cancellation or supersession stamped after `now` is not yet in effect (dateTime can never be in the future).
 */
export function serverEventStatus(control: StatusInput, now: number): ServerEventStatus {
  const flag =
    control.potentiallySuperseded !== undefined && control.potentiallySuperseded.at <= now
      ? { potentiallySuperseded: true, potentiallySupersededTime: control.potentiallySuperseded.at }
      : { potentiallySuperseded: false };
  const { cancelled, superseded } = control;
  if (cancelled !== undefined && cancelled.at <= now) {
    const randomized = (cancelled.randomized ?? true) && hasRandomization(control);
    const currentStatus = randomized ? CURRENT_STATUS.CancelledWithRandomization : CURRENT_STATUS.Cancelled;
    return { currentStatus, dateTime: cancelled.at, ...flag };
  }
  if (superseded !== undefined && superseded.at <= now) {
    return { currentStatus: CURRENT_STATUS.Superseded, dateTime: superseded.at, ...flag };
  }
  const activeFrom = earliestEffectiveStart(control);
  if (activeFrom <= now) {
    return { currentStatus: CURRENT_STATUS.Active, dateTime: Math.max(activeFrom, control.creationTime), ...flag };
  }
  return { currentStatus: CURRENT_STATUS.Scheduled, dateTime: control.creationTime, ...flag };
}

/**
 * The time (exclusive, epoch seconds) until which the server keeps the control in its DERControlList:
 * - Cancelled (2): for the duration of the original event, interval.start + interval.duration;
 * - Cancelled with Randomization (3), Superseded, completed or any other: the Effective Scheduled Period, i.e. the
 *   latest effective end any client may have drawn (start + duration + max(0, rs) + max(0, rd)).
 * The caller lists a control while `now < visibleUntil(control)`.
 */
export function visibleUntil(
  control: Pick<ScheduledControl, 'interval' | 'randomizeStart' | 'randomizeDuration' | 'cancelled'>,
): number {
  const { cancelled } = control;
  const plainCancel = cancelled !== undefined && !((cancelled.randomized ?? true) && hasRandomization(control));
  if (plainCancel) return control.interval.start + control.interval.duration;
  return latestEffectiveEnd(control);
}

/** How many control types the new control must share with an existing one to supersede it. */
export type SupersessionFieldRule = 'shared' | 'covering';

export interface SupersessionOptions {
  /**
   * 'shared' (default, envoy-compatible and what CSIP-AUS servers do): sharing at least one control type is enough.
   * 'covering': the new control must control every type the existing one controls (closer to 2030.5, which
   * supersedes only the exact same set and flags partial overlap as potentiallySuperseded).
   */
  fieldRule?: SupersessionFieldRule;
}

export interface SupersessionOutcome {
  /** Existing controls to mark Superseded (status 4) from `at`. */
  superseded: Array<{ mRID: string; at: number }>;
  /** Existing controls (not superseded here) to flag potentiallySuperseded, with potentiallySupersededTime = `at`. */
  potentiallySuperseded: Array<{ mRID: string; at: number }>;
  /** The new control's own potentiallySuperseded flag (set at `now` when true). */
  newControlPotentiallySuperseded: boolean;
}

type SupersessionInput = Pick<
  ScheduledControl,
  | 'mRID'
  | 'creationTime'
  | 'interval'
  | 'randomizeStart'
  | 'randomizeDuration'
  | 'DERControlBase'
  | 'programId'
  | 'programPrimacy'
  | 'cancelled'
  | 'superseded'
>;

/**
 * Which stored controls a newly inserted control supersedes (decided at insert time, as envoy does in
 * `supersede_matching_does_for_site`). An existing control is superseded when ALL hold:
 * 1. it is a different control that is neither cancelled, already superseded ("can't supersede twice") nor
 *    finished (its latest effective end is not after `now`);
 * 2. its scheduled interval overlaps the new one's; partial overlap counts, back-to-back does not, randomisation
 *    is ignored (so sequential randomised controls as in CACTUS S-ALL-45 / ALL-22 stay Scheduled);
 * 3. it is in the same program, or its program's primacy is the same or worse (numerically >=) than the new
 *    control's; at equal primacy the new control must not be older (newer creationTime wins, 2030.5 event rules);
 * 4. the two share control types: at least one ('shared', default) or all of the existing control's ('covering').
 * Supersession takes effect at the earliest Effective Start Time of the new control, or `now` if that is past
 * (2030.5 EventStatus 4: "at the earliest Effective Start Time of the overlapping event").
 *
 * potentiallySuperseded (2030.5 EventStatus.potentiallySuperseded): an existing, live, not-superseded-here control
 * that overlaps the new one in time and shares some but not all control types (the sets intersect but differ);
 * such controls are flagged at `now` and so is the new control.
 * The caller passes the controls of one scope (the EndDevice's / site's controls across its programs).
 */
export function supersededBy(
  newControl: SupersessionInput,
  existing: readonly SupersessionInput[],
  now: number,
  options: SupersessionOptions = {},
): SupersessionOutcome {
  const fieldRule = options.fieldRule ?? 'shared';
  const newTypes = new Set(controlTypesOf(newControl.DERControlBase));
  const at = Math.max(now, earliestEffectiveStart(newControl));
  const outcome: SupersessionOutcome = {
    superseded: [],
    potentiallySuperseded: [],
    newControlPotentiallySuperseded: false,
  };
  for (const old of existing) {
    if (old.mRID === newControl.mRID || old.cancelled !== undefined || old.superseded !== undefined) continue;
    if (!intervalsOverlap(old.interval, newControl.interval) || latestEffectiveEnd(old) <= now) continue;
    const oldTypes = controlTypesOf(old.DERControlBase);
    const sharedCount = oldTypes.filter((type) => newTypes.has(type)).length;
    if (sharedCount === 0) continue;
    const sameSet = sharedCount === oldTypes.length && sharedCount === newTypes.size;
    // A program has one primacy, so "same program" is covered by "same primacy".
    const outranks =
      newControl.programPrimacy < old.programPrimacy ||
      (newControl.programPrimacy === old.programPrimacy && newControl.creationTime >= old.creationTime);
    const fieldsMatch = fieldRule === 'shared' || sharedCount === oldTypes.length;
    if (outranks && fieldsMatch) {
      outcome.superseded.push({ mRID: old.mRID, at });
    } else if (!sameSet) {
      outcome.potentiallySuperseded.push({ mRID: old.mRID, at: now });
      outcome.newControlPotentiallySuperseded = true;
    }
  }
  return outcome;
}
