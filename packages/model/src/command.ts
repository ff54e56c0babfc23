import Type, { type Static } from 'typebox';
import { EpochMs, Id } from './common.ts';
import { Setpoint } from './setpoint.ts';

/**
 * pending: accepted, not yet written; sent: written to the device, awaiting read-back;
 * confirmed: read-back matched; failed: the device refused or did not answer;
 * expired: the setpoint expired before confirmation; superseded: a newer command replaced it.
 */
export const COMMAND_STATUSES = ['pending', 'sent', 'confirmed', 'failed', 'expired', 'superseded'] as const;
export const CommandStatus = Type.Enum(COMMAND_STATUSES);
export type CommandStatus = Static<typeof CommandStatus>;

export const TERMINAL_COMMAND_STATUSES: ReadonlySet<CommandStatus> = new Set([
  'confirmed',
  'failed',
  'expired',
  'superseded',
]);

const TRANSITIONS: Readonly<Record<CommandStatus, readonly CommandStatus[]>> = {
  pending: ['sent', 'failed', 'expired', 'superseded'],
  sent: ['confirmed', 'failed', 'expired', 'superseded', 'sent'],
  // A confirmed command can still be superseded or run out; the record keeps its history.
  confirmed: ['superseded', 'expired'],
  failed: [],
  expired: [],
  superseded: [],
};

export function canTransition(from: CommandStatus, to: CommandStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export const CommandStatusChange = Type.Object(
  {
    status: CommandStatus,
    at: EpochMs,
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type CommandStatusChange = Static<typeof CommandStatusChange>;

/** A tracked delivery of one setpoint to one device. */
export const Command = Type.Object(
  {
    id: Id,
    deviceId: Id,
    setpoint: Setpoint,
    status: CommandStatus,
    attempts: Type.Integer({ minimum: 0 }),
    createdAt: EpochMs,
    updatedAt: EpochMs,
    history: Type.Array(CommandStatusChange),
    /** What the device reported back after the write. */
    readBack: Type.Optional(
      Type.Object({ at: EpochMs, value: Type.Number(), matched: Type.Boolean() }, { additionalProperties: false }),
    ),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false, $id: 'Command' },
);
export type Command = Static<typeof Command>;
