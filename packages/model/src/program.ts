import Type, { type Static } from 'typebox';
import { EpochMs, Id, Labels } from './common.ts';
import { SETPOINT_KINDS } from './setpoint.ts';

/** The protocol or party an event came from. */
export const EVENT_SOURCES = ['ieee2030.5', 'openadr2b', 'openadr3', 'ocpp', 'market', 'operator'] as const;
export const EventSourceProtocol = Type.Enum(EVENT_SOURCES);
export type EventSourceProtocol = Static<typeof EventSourceProtocol>;

export const PROGRAM_KINDS = [
  'demand-response',
  'dynamic-export',
  'grid-support',
  'wholesale-market',
  'capacity',
  'manual',
] as const;

/**
 * A program an operator runs or takes part in. Primacy follows IEEE 2030.5: the lower the
 * number, the higher the precedence when events of two programs overlap.
 */
export const Program = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 256 }),
    kind: Type.Enum(PROGRAM_KINDS),
    source: EventSourceProtocol,
    primacy: Type.Integer({ minimum: 0, maximum: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    /** Controls that apply to enrolled devices when no event is active (2030.5 DefaultDERControl). */
    defaultControls: Type.Optional(
      Type.Array(
        Type.Object({ kind: Type.Enum(SETPOINT_KINDS), value: Type.Number() }, { additionalProperties: false }),
      ),
    ),
    labels: Type.Optional(Labels),
    createdAt: Type.Optional(EpochMs),
    updatedAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Program' },
);
export type Program = Static<typeof Program>;

/**
 * Signal kinds an event interval may carry: every setpoint kind, plus OpenADR 2.0b/3.x
 * signals (SIMPLE level, price, load dispatch) and market awards (energy, regulation, capacity).
 */
export const SIGNAL_KINDS = [
  ...SETPOINT_KINDS,
  'simpleLevel',
  'price',
  'loadDispatch',
  'energyAward',
  'regulationUp',
  'regulationDown',
  'capacityAward',
] as const;
export const SignalKind = Type.Enum(SIGNAL_KINDS);
export type SignalKind = Static<typeof SignalKind>;

export const Signal = Type.Object(
  {
    kind: SignalKind,
    value: Type.Number(),
    /** W, A, %, level, currency per kWh (e.g. USD/kWh), ... */
    unit: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);
export type Signal = Static<typeof Signal>;

export const EventInterval = Type.Object(
  {
    start: EpochMs,
    durationS: Type.Integer({ minimum: 1, maximum: 31_536_000 }),
    signals: Type.Array(Signal, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type EventInterval = Static<typeof EventInterval>;

/** Whom an event applies to; empty means every device enrolled in the program. */
export const EventTargets = Type.Object(
  {
    groupIds: Type.Optional(Type.Array(Id)),
    siteIds: Type.Optional(Type.Array(Id)),
    deviceIds: Type.Optional(Type.Array(Id)),
  },
  { additionalProperties: false },
);
export type EventTargets = Static<typeof EventTargets>;

/** IEEE 2030.5 EventStatus (Scheduled, Active, Cancelled, Superseded) plus completed and opted out. */
export const EVENT_STATUSES = ['scheduled', 'active', 'completed', 'cancelled', 'superseded', 'opted-out'] as const;
export const EventStatus = Type.Enum(EVENT_STATUSES);
export type EventStatus = Static<typeof EventStatus>;

export const EventStatusChange = Type.Object(
  { status: EventStatus, at: EpochMs, reason: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false },
);
export type EventStatusChange = Static<typeof EventStatusChange>;

/** One program event: the canonical union of a 2030.5 DERControl, an OpenADR event and a market award. */
export const ProgramEvent = Type.Object(
  {
    id: Id,
    programId: Id,
    source: EventSourceProtocol,
    /** The identifier the source gave it (2030.5 mRID, OpenADR eventID), for idempotent upserts. */
    externalId: Type.Optional(Type.String({ maxLength: 256 })),
    primacy: Type.Integer({ minimum: 0, maximum: 255 }),
    intervals: Type.Array(EventInterval, { minItems: 1 }),
    targets: EventTargets,
    /** Start and end randomisation windows, seconds (2030.5 randomizeStart / randomizeDuration). */
    randomizeStartS: Type.Optional(Type.Integer({ minimum: -86400, maximum: 86400 })),
    randomizeDurationS: Type.Optional(Type.Integer({ minimum: -86400, maximum: 86400 })),
    status: EventStatus,
    statusHistory: Type.Array(EventStatusChange),
    createdAt: EpochMs,
    updatedAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'ProgramEvent' },
);
export type ProgramEvent = Static<typeof ProgramEvent>;

export const EnrolmentStatus = Type.Enum(['active', 'suspended', 'ended']);

/** A device or a whole site taking part in a program over a period. */
export const Enrolment = Type.Object(
  {
    id: Id,
    programId: Id,
    deviceId: Type.Optional(Id),
    siteId: Type.Optional(Id),
    validFrom: EpochMs,
    validTo: Type.Optional(EpochMs),
    status: EnrolmentStatus,
    /** Capacity a battery keeps back for this program's commitments. */
    reserve: Type.Optional(
      Type.Object(
        {
          socReservePct: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
          capacityW: Type.Optional(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    createdAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Enrolment' },
);
export type Enrolment = Static<typeof Enrolment>;

/** End of an event: start of its last interval plus that interval's duration. */
export function eventEnd(event: Pick<ProgramEvent, 'intervals'>): number {
  let end = 0;
  for (const interval of event.intervals) end = Math.max(end, interval.start + interval.durationS * 1000);
  return end;
}

export function eventStart(event: Pick<ProgramEvent, 'intervals'>): number {
  let start = Number.POSITIVE_INFINITY;
  for (const interval of event.intervals) start = Math.min(start, interval.start);
  return start;
}
