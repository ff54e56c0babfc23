import Type, { type Static } from 'typebox';
import { EpochMs, Id } from './common.ts';

/**
 * Setpoint kinds: the union of IEEE 2030.5 DERControlBase modes (opModExpLimW, opModImpLimW,
 * opModGenLimW, opModLoadLimW, opModFixedW, opModConnect, opModEnergize), CSIP-AUS dynamic
 * limits, OCPP charging profiles and battery SoC targets. Value meaning per kind:
 *
 * | kind            | value                                 | unit |
 * | exportLimit     | largest export, >= 0                  | W    |
 * | importLimit     | largest import, >= 0                  | W    |
 * | generationLimit | largest generation, >= 0              | W    |
 * | loadLimit       | largest consumption, >= 0             | W    |
 * | fixedW          | signed active power (model sign rule) | W    |
 * | targetSoc       | state of charge to reach, 0..100      | %    |
 * | chargeLimit     | largest charge power, >= 0            | W    |
 * | dischargeLimit  | largest discharge power, >= 0         | W    |
 * | connect         | 1 connect, 0 disconnect               | bool |
 * | energize        | 1 energize, 0 cease to energize       | bool |
 * | evChargingLimit | largest EV charging rate, >= 0        | W or A |
 */
export const SETPOINT_KINDS = [
  'exportLimit',
  'importLimit',
  'generationLimit',
  'loadLimit',
  'fixedW',
  'targetSoc',
  'chargeLimit',
  'dischargeLimit',
  'connect',
  'energize',
  'evChargingLimit',
] as const;
export const SetpointKind = Type.Enum(SETPOINT_KINDS);
export type SetpointKind = Static<typeof SetpointKind>;

export const SETPOINT_SOURCES = ['operator', 'program', 'default', 'market', 'schedule'] as const;

/** Where a setpoint came from, so arbitration can explain itself. Lower primacy wins (IEEE 2030.5 primacy). */
export const SetpointSource = Type.Object(
  {
    kind: Type.Enum(SETPOINT_SOURCES),
    /** The originating object: an event id, an operator's token name, a market award id. */
    ref: Type.Optional(Type.String({ maxLength: 256 })),
    primacy: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  },
  { additionalProperties: false },
);
export type SetpointSource = Static<typeof SetpointSource>;

/**
 * A constraint on one device for a window of time. Every setpoint expires, so a device whose
 * gateway goes quiet falls back to its defaults (the SunSpec model 704 revert-timeout pattern).
 */
export const Setpoint = Type.Object(
  {
    id: Id,
    deviceId: Id,
    kind: SetpointKind,
    value: Type.Number(),
    /** Only for evChargingLimit: W (default) or A. */
    unit: Type.Optional(Type.Enum(['W', 'A'])),
    start: EpochMs,
    expiry: EpochMs,
    source: SetpointSource,
    createdAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Setpoint' },
);
export type Setpoint = Static<typeof Setpoint>;

/** The body an operator posts to deliver a manual setpoint; the server fills id, device and source. */
export const SetpointRequest = Type.Object(
  {
    kind: SetpointKind,
    value: Type.Number(),
    unit: Type.Optional(Type.Enum(['W', 'A'])),
    /** Defaults to now. */
    start: Type.Optional(EpochMs),
    /** Either an absolute expiry or a duration from start; one of the two is required. */
    expiry: Type.Optional(EpochMs),
    durationS: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
  },
  { additionalProperties: false, $id: 'SetpointRequest' },
);
export type SetpointRequest = Static<typeof SetpointRequest>;

const NON_NEGATIVE_KINDS: ReadonlySet<SetpointKind> = new Set([
  'exportLimit',
  'importLimit',
  'generationLimit',
  'loadLimit',
  'chargeLimit',
  'dischargeLimit',
  'evChargingLimit',
]);

/** Checks the per-kind rules that a JSON Schema cannot express; returns [path, message] pairs. */
export function setpointValueProblems(
  setpoint: Pick<Setpoint, 'kind' | 'value' | 'unit'> & { start?: number; expiry?: number },
): Array<[path: string, message: string]> {
  const problems: Array<[string, string]> = [];
  const { kind, value } = setpoint;
  if (NON_NEGATIVE_KINDS.has(kind) && value < 0) problems.push(['/value', `${kind} must be >= 0`]);
  if (kind === 'targetSoc' && (value < 0 || value > 100)) problems.push(['/value', 'targetSoc must be within 0..100']);
  if ((kind === 'connect' || kind === 'energize') && value !== 0 && value !== 1)
    problems.push(['/value', `${kind} must be 0 or 1`]);
  if (setpoint.unit !== undefined && kind !== 'evChargingLimit')
    problems.push(['/unit', 'unit is only allowed for evChargingLimit']);
  if (setpoint.start !== undefined && setpoint.expiry !== undefined && setpoint.expiry <= setpoint.start)
    problems.push(['/expiry', 'expiry must be after start']);
  return problems;
}

/** Whether a setpoint is in force at an instant: start inclusive, expiry exclusive. */
export function isSetpointActive(setpoint: Pick<Setpoint, 'start' | 'expiry'>, at: number): boolean {
  return setpoint.start <= at && at < setpoint.expiry;
}
