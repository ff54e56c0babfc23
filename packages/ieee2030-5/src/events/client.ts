/**
 * Client-side event rules: which control (or DefaultDERControl) a DER client applies for each control type at
 * `now`, and which DERControl Responses are due. Pure: the caller stores the random offsets it drew once per
 * control (drawRandomization) and the set of responses already sent.
 */
import { controlTypesOf, intervalsOverlap, responseRequiredBits } from './control-types.ts';
import { effectiveWindow, hasRandomization, ZERO_OFFSETS } from './randomization.ts';
import {
  CONTROL_RESPONSE,
  type ControlResponseStatus,
  type ControlType,
  CURRENT_STATUS,
  type DefaultControl,
  type EffectiveWindow,
  type RandomizationOffsets,
  type ScheduledControl,
} from './types.ts';

export interface ScheduleInput {
  /** Every DERControl the client holds, across all its programs. */
  controls: readonly ScheduledControl[];
  /** The DefaultDERControls of those programs. */
  defaults: readonly DefaultControl[];
  now: number;
  /** Offsets drawn once per control, by mRID; a control without an entry runs unrandomised. */
  offsets: ReadonlyMap<string, RandomizationOffsets>;
}

export type ValueSource =
  | { kind: 'control'; mRID: string; programId: string }
  | { kind: 'default'; programId: string; mRID?: string };

export interface ControlTypeResolution {
  type: ControlType;
  value: unknown;
  source: ValueSource;
  /** mRIDs of the controls in their window that also set this type and lost, best first. */
  losers: string[];
}

export interface ActiveSchedule {
  now: number;
  /** The applied value per control type; types that no control nor default sets are absent. */
  byType: Partial<Record<ControlType, ControlTypeResolution>>;
  /** Controls in their window applied for at least one control type, or setting no known type (input order). */
  active: string[];
  /**
   * Controls to answer with Superseded (7): marked Superseded by the server (from its dateTime), or in their window
   * while losing every control type they set to controls whose SCHEDULED interval overlaps theirs (input order).
   */
  superseded: string[];
  /**
   * Controls in their window that apply nothing yet are not superseded: they only overlap a neighbour through
   * randomisation (e.g. the randomised tail of the previous control of a sequence). They apply once it ends.
   */
  pending: string[];
  /** Effective window per control (randomisation applied, cut at its cancellation), by mRID. */
  windows: ReadonlyMap<string, EffectiveWindow>;
  /** The next time after `now` at which a window opens or closes, if any: when to re-evaluate. */
  nextChangeAt: number | undefined;
}

/**
 * The effective window a client uses: randomised, and for a cancelled control cut at the cancellation time, or at
 * cancellation + cancelOffset when cancelled with randomization (2030.5 EventStatus 3: end randomisation within
 * max(|randomizeStart|, |randomizeDuration|)).
 */
export function clientWindow(control: ScheduledControl, offsets: RandomizationOffsets): EffectiveWindow {
  const window = effectiveWindow(control, offsets);
  const { cancelled } = control;
  if (cancelled === undefined) return window;
  const randomized = (cancelled.randomized ?? true) && hasRandomization(control);
  const cancelEnd = cancelled.at + (randomized ? offsets.cancelOffset : 0);
  const end = Math.max(window.start, Math.min(window.end, cancelEnd));
  return { start: window.start, end };
}

function isSupersededAt(control: ScheduledControl, now: number): boolean {
  return control.superseded !== undefined && control.superseded.at <= now;
}

/**
 * Precedence between two controls in their window that set the same control type (negative: `a` wins):
 * controls the server marked Superseded sort last; then the lower program primacy wins; at equal primacy the newer
 * creationTime wins (2030.5 event rules; open-dynamic-export sorts the same way); mRID breaks remaining ties so
 * the result never depends on input order.
 */
function comparePrecedence(a: ScheduledControl, b: ScheduledControl, now: number): number {
  const supersededOrder = Number(isSupersededAt(a, now)) - Number(isSupersededAt(b, now));
  if (supersededOrder !== 0) return supersededOrder;
  if (a.programPrimacy !== b.programPrimacy) return a.programPrimacy - b.programPrimacy;
  if (a.creationTime !== b.creationTime) return b.creationTime - a.creationTime;
  return a.mRID < b.mRID ? -1 : a.mRID > b.mRID ? 1 : 0;
}

/**
 * Resolves, per control type, what the client applies at `now`:
 * - a control is a candidate while `now` is inside its client window [start, end) (see clientWindow);
 * - per control type the best candidate by comparePrecedence wins; the others are that type's losers;
 * - a type no candidate sets falls back to the DefaultDERControl of the program with the lowest primacy that sets
 *   it (first in `defaults` on a tie): any active control beats any default (2030.5 DefaultDERControl; CACTUS
 *   GEN-10/LOA-10 expect the primacy-1 program's default after the primacy-2 control completes);
 * - a control that wins at least one type is active even if it loses others (CACTUS GEN-10: DERC8 is Started
 *   while DERC7 holds the export limit).
 * The result is stateless: a loser whose winner ends before it does applies again.
 */
export function resolveActiveControls(input: ScheduleInput): ActiveSchedule {
  const { controls, defaults, now, offsets } = input;
  const windows = new Map<string, EffectiveWindow>();
  const candidates: ScheduledControl[] = [];
  let nextChangeAt: number | undefined;
  for (const control of controls) {
    const window = clientWindow(control, offsets.get(control.mRID) ?? ZERO_OFFSETS);
    windows.set(control.mRID, window);
    if (window.start <= now && now < window.end) candidates.push(control);
    for (const edge of [window.start, window.end]) {
      if (edge > now && (nextChangeAt === undefined || edge < nextChangeAt)) nextChangeAt = edge;
    }
  }
  for (const control of controls) {
    const at = control.superseded?.at;
    if (at !== undefined && at > now && (nextChangeAt === undefined || at < nextChangeAt)) nextChangeAt = at;
  }
  candidates.sort((a, b) => comparePrecedence(a, b, now));

  const byType: Partial<Record<ControlType, ControlTypeResolution>> = {};
  const winners = new Set<string>();
  const setters = new Map<ControlType, ScheduledControl[]>();
  for (const control of candidates) {
    for (const type of controlTypesOf(control.DERControlBase)) {
      const list = setters.get(type) ?? [];
      list.push(control);
      setters.set(type, list);
    }
  }
  for (const [type, [winner, ...losers]] of setters) {
    if (winner === undefined) continue;
    winners.add(winner.mRID);
    byType[type] = {
      type,
      value: winner.DERControlBase[type],
      source: { kind: 'control', mRID: winner.mRID, programId: winner.programId },
      losers: losers.map((loser) => loser.mRID),
    };
  }

  const rankedDefaults = defaults
    .map((fallback, index) => ({ fallback, index }))
    .sort((a, b) => a.fallback.programPrimacy - b.fallback.programPrimacy || a.index - b.index);
  for (const { fallback } of rankedDefaults) {
    for (const type of controlTypesOf(fallback.DERControlBase)) {
      if (byType[type] !== undefined) continue;
      const source: ValueSource =
        fallback.mRID === undefined
          ? { kind: 'default', programId: fallback.programId }
          : { kind: 'default', programId: fallback.programId, mRID: fallback.mRID };
      byType[type] = { type, value: fallback.DERControlBase[type], source, losers: [] };
    }
  }

  const active: string[] = [];
  const superseded: string[] = [];
  const pending: string[] = [];
  const byMRID = new Map(candidates.map((control) => [control.mRID, control]));
  for (const control of controls) {
    const candidate = byMRID.get(control.mRID);
    if (isSupersededAt(control, now)) {
      superseded.push(control.mRID);
    } else if (candidate === undefined) {
      // not in its window: nothing to decide
    } else if (winners.has(control.mRID) || controlTypesOf(control.DERControlBase).length === 0) {
      // A control setting no known control type (e.g. only an unknown extension) has no rival: it runs.
      active.push(control.mRID);
    } else if (lostToScheduledOverlap(candidate, byType)) {
      superseded.push(control.mRID);
    } else {
      pending.push(control.mRID);
    }
  }
  return { now, byType, active, superseded, pending, windows, nextChangeAt };

  function lostToScheduledOverlap(
    loser: ScheduledControl,
    resolved: Partial<Record<ControlType, ControlTypeResolution>>,
  ): boolean {
    return controlTypesOf(loser.DERControlBase).every((type) => {
      const source = resolved[type]?.source;
      if (source?.kind !== 'control') return false;
      const winner = byMRID.get(source.mRID);
      return winner !== undefined && intervalsOverlap(winner.interval, loser.interval);
    });
  }
}

/** The key of a sent response in the `sent` set: `${mRID}:${status}`. */
export function responseKey(mRID: string, status: ControlResponseStatus): string {
  return `${mRID}:${status}`;
}

export interface DueResponse {
  mRID: string;
  status: ControlResponseStatus;
}

const TERMINAL_STATUSES: readonly ControlResponseStatus[] = [
  CONTROL_RESPONSE.Completed,
  CONTROL_RESPONSE.Cancelled,
  CONTROL_RESPONSE.Superseded,
];

/**
 * The DERControl Responses due at `now`, never one already in `sent` (keys from responseKey), in input order and
 * per control in status order. responseRequired (2030.5 Event.responseRequired): bit 0 → Received (1) as soon as
 * the control is known; bit 1 → the specific responses, at most one of which is terminal:
 * - Cancelled (6) once `cancelled.at` is reached (even if it never started: CACTUS ALL-18);
 * - else Superseded (7) when the schedule lists it as superseded;
 * - else Started (2) when it is applied for at least one control type (immediately if already running);
 * - else Completed (3) once its client window has ended, only if Started was sent.
 * After a terminal response (3, 6 or 7) nothing more is due for that control.
 */
export function responsesDue(input: ScheduleInput & { sent: ReadonlySet<string> }): DueResponse[] {
  const schedule = resolveActiveControls(input);
  const { now, sent } = input;
  const superseded = new Set(schedule.superseded);
  const active = new Set(schedule.active);
  const due: DueResponse[] = [];
  const add = (mRID: string, status: ControlResponseStatus) => {
    if (!sent.has(responseKey(mRID, status))) due.push({ mRID, status });
  };
  for (const control of input.controls) {
    const bits = responseRequiredBits(control.responseRequired);
    const { mRID } = control;
    if ((bits & 0b01) !== 0) add(mRID, CONTROL_RESPONSE.Received);
    if ((bits & 0b10) === 0) continue;
    if (TERMINAL_STATUSES.some((status) => sent.has(responseKey(mRID, status)))) continue;
    const window = schedule.windows.get(mRID);
    if (control.cancelled !== undefined && control.cancelled.at <= now) add(mRID, CONTROL_RESPONSE.Cancelled);
    else if (superseded.has(mRID)) add(mRID, CONTROL_RESPONSE.Superseded);
    else if (active.has(mRID)) add(mRID, CONTROL_RESPONSE.Started);
    else if (window !== undefined && now >= window.end && sent.has(responseKey(mRID, CONTROL_RESPONSE.Started))) {
      add(mRID, CONTROL_RESPONSE.Completed);
    }
  }
  return due;
}

/**
 * Maps a received EventStatus onto the client-side state the rules read: 2 → cancelled (plain), 3 → cancelled with
 * randomization, 4 → superseded, each from EventStatus.dateTime; 0 and 1 carry no extra state.
 */
export function stateFromEventStatus(status: {
  currentStatus: number;
  dateTime: number;
}): Pick<ScheduledControl, 'cancelled' | 'superseded'> {
  switch (status.currentStatus) {
    case CURRENT_STATUS.Cancelled:
      return { cancelled: { at: status.dateTime, randomized: false } };
    case CURRENT_STATUS.CancelledWithRandomization:
      return { cancelled: { at: status.dateTime, randomized: true } };
    case CURRENT_STATUS.Superseded:
      return { superseded: { at: status.dateTime } };
    default:
      return {};
  }
}
