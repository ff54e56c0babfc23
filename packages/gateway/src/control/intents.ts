/**
 * From canonical program events, program defaults and operator commands to control intents (the
 * input of `arbitrate`). Pure: the caller passes the enrolments and the instant.
 *
 * - An event interval's signals whose kind is a control type become one intent per target scope:
 *   targets.siteIds -> site scopes, groupIds -> group scopes, deviceIds -> device scopes; empty
 *   targets mean every site or device enrolled in the program at `now` (docs/MODEL.md, EventTargets).
 * - Only live events count: scheduled and active (and those whose status the engine itself moves
 *   on); cancelled, superseded, completed and opted-out events give no intent, so their controls
 *   are released (IEEE 2030.5: a cancelled or superseded event stops applying at once).
 * - Program.defaultControls become default intents (2030.5 DefaultDERControl) for every enrolment
 *   in force, over the enrolment's validity window.
 * - Randomisation (randomizeStartS / randomizeDurationS) is the source protocol's business: the
 *   2030.5 client hands events over with their effective window already applied.
 */
import type { Command, Enrolment, Program, ProgramEvent, SetpointKind } from '@gridseam/model';
import { CONTROL_TYPES, type ControlIntent, type ControlScope, type ControlType } from './types.ts';

const CONTROL_TYPE_SET: ReadonlySet<string> = new Set(CONTROL_TYPES);
/** Event statuses whose controls are in force (inside their window). */
export const LIVE_EVENT_STATUSES: ReadonlySet<ProgramEvent['status']> = new Set(['scheduled', 'active']);

export function isControlType(kind: string): kind is ControlType {
  return CONTROL_TYPE_SET.has(kind);
}

/** Enrolments in force at `now`: status active, now in [validFrom, validTo). */
export function enrolmentsInForce(enrolments: readonly Enrolment[], now: number): Enrolment[] {
  return enrolments.filter(
    (e) => e.status === 'active' && e.validFrom <= now && (e.validTo === undefined || now < e.validTo),
  );
}

function enrolmentScope(enrolment: Enrolment): ControlScope | undefined {
  if (enrolment.siteId !== undefined) return { kind: 'site', id: enrolment.siteId };
  if (enrolment.deviceId !== undefined) return { kind: 'device', id: enrolment.deviceId };
  return undefined;
}

/** The scopes an event applies to at `now`. */
export function eventScopes(event: ProgramEvent, enrolments: readonly Enrolment[], now: number): ControlScope[] {
  const scopes: ControlScope[] = [];
  const { siteIds = [], groupIds = [], deviceIds = [] } = event.targets;
  for (const id of siteIds) scopes.push({ kind: 'site', id });
  for (const id of groupIds) scopes.push({ kind: 'group', id });
  for (const id of deviceIds) scopes.push({ kind: 'device', id });
  if (scopes.length > 0) return scopes;
  const seen = new Set<string>();
  for (const enrolment of enrolmentsInForce(enrolments, now)) {
    if (enrolment.programId !== event.programId) continue;
    const scope = enrolmentScope(enrolment);
    if (scope === undefined) continue;
    const key = `${scope.kind}:${scope.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    scopes.push(scope);
  }
  return scopes;
}

/** The id of an event's intent for one interval: the event id, suffixed when the event has several intervals. */
export function intentIdOf(event: Pick<ProgramEvent, 'id' | 'intervals'>, intervalIndex: number): string {
  return event.intervals.length === 1 ? event.id : `${event.id}#${intervalIndex}`;
}

/** Intents of one event (empty when the event is not live). `ref` is always the event id. */
export function eventIntents(event: ProgramEvent, enrolments: readonly Enrolment[], now: number): ControlIntent[] {
  if (!LIVE_EVENT_STATUSES.has(event.status)) return [];
  const scopes = eventScopes(event, enrolments, now);
  const intents: ControlIntent[] = [];
  event.intervals.forEach((interval, index) => {
    const window = { start: interval.start, end: interval.start + interval.durationS * 1000 };
    for (const signal of interval.signals) {
      if (!isControlType(signal.kind)) continue;
      for (const scope of scopes)
        intents.push({
          id: intentIdOf(event, index),
          source: event.source,
          scope,
          type: signal.kind,
          value: signal.value,
          primacy: event.primacy,
          createdAt: event.createdAt,
          window,
          ref: event.id,
        });
    }
  });
  return intents;
}

/** The id of a program's default intents. */
export function defaultIntentId(programId: string): string {
  return `default:${programId}`;
}

/** Default intents of a program: its defaultControls for every enrolment in force at `now`. */
export function defaultIntents(program: Program, enrolments: readonly Enrolment[], now: number): ControlIntent[] {
  const controls = program.defaultControls ?? [];
  if (controls.length === 0) return [];
  const intents: ControlIntent[] = [];
  for (const enrolment of enrolmentsInForce(enrolments, now)) {
    if (enrolment.programId !== program.id) continue;
    const scope = enrolmentScope(enrolment);
    if (scope === undefined) continue;
    for (const control of controls)
      intents.push({
        id: defaultIntentId(program.id),
        source: program.source,
        scope,
        type: control.kind,
        value: control.value,
        primacy: program.primacy,
        createdAt: program.createdAt ?? 0,
        window:
          enrolment.validTo === undefined
            ? { start: enrolment.validFrom }
            : { start: enrolment.validFrom, end: enrolment.validTo },
        isDefault: true,
        ref: program.id,
      });
  }
  return intents;
}

/**
 * An operator's manual setpoint (registry.submitSetpoint, delivered by the edge's executor as it
 * is): a device-scope operator intent at primacy 0 over [start, expiry), so arbitration keeps the
 * engine from writing over it while it lasts.
 */
export function manualCommandIntent(command: Command): ControlIntent {
  const setpoint = command.setpoint;
  return {
    id: command.id,
    source: 'operator',
    scope: { kind: 'device', id: command.deviceId },
    type: setpoint.kind as SetpointKind,
    value: setpoint.value,
    primacy: setpoint.source.primacy ?? 0,
    createdAt: setpoint.createdAt ?? command.createdAt,
    window: { start: setpoint.start, end: setpoint.expiry },
    ref: `manual:${command.id}`,
  };
}
