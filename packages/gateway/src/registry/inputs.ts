import { Device, EpochMs, EventStatus, EventStatusChange, Id, ProgramEvent } from '@gridseam/model';
import Type, { type Static } from 'typebox';

/**
 * What callers hand the registry to create or replace an entity. They are the model's schemas with
 * the fields the registry fills made optional: a client can GET an entity, change it and PUT it
 * back unchanged in shape. Server-owned fields (createdAt, updatedAt, statusHistory) are accepted
 * and overwritten, never trusted.
 */

/** A device; `enabled` defaults to true (the model's schema default). */
export const DeviceInput = Type.Object(
  { ...Device.properties, enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type DeviceInput = Static<typeof DeviceInput>;

/**
 * A program event. `primacy` defaults from the program, `source` to 'operator', `status` to
 * 'scheduled' on create; on replace a status must equal the current one (changes go through
 * setEventStatus so the history stays complete).
 */
export const EventInput = Type.Object(
  {
    ...ProgramEvent.properties,
    source: Type.Optional(ProgramEvent.properties.source),
    primacy: Type.Optional(ProgramEvent.properties.primacy),
    status: Type.Optional(EventStatus),
    statusHistory: Type.Optional(Type.Array(EventStatusChange)),
    createdAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false },
);
export type EventInput = Static<typeof EventInput>;

/** A status change of an event. `at` defaults to now. */
export const EventStatusInput = Type.Object(
  {
    status: EventStatus,
    at: Type.Optional(EpochMs),
    reason: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type EventStatusInput = Static<typeof EventStatusInput>;

/** Opens a membership; `validFrom` defaults to now. */
export const MembershipInput = Type.Object(
  { deviceId: Id, validFrom: Type.Optional(EpochMs) },
  { additionalProperties: false },
);
export type MembershipInput = Static<typeof MembershipInput>;

/** Closes the open membership; `validTo` defaults to now. */
export const MembershipEndInput = Type.Object({ validTo: Type.Optional(EpochMs) }, { additionalProperties: false });
export type MembershipEndInput = Static<typeof MembershipEndInput>;
