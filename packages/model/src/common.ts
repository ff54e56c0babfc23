import Type, { type Static } from 'typebox';

/**
 * Identifiers are opaque strings chosen by the operator or derived from a protocol
 * (an LFDI, an OCPP chargePointId, a SunSpec serial). Restricted to a URL- and
 * subject-safe alphabet so they can be used in REST paths and NATS subjects.
 */
export const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' });
export type Id = Static<typeof Id>;

/** An instant: integer milliseconds since the Unix epoch, UTC. Used for every time in the model. */
export const EpochMs = Type.Integer({ minimum: 0, maximum: 253402300799999 });
export type EpochMs = Static<typeof EpochMs>;

/** Free-form labels for selection and grouping (string keys, string values). */
export const Labels = Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }));
export type Labels = Static<typeof Labels>;

/** A watt figure; finite by construction (JSON Schema numbers exclude NaN and Infinity). */
export const Watts = Type.Number();
export const NonNegativeWatts = Type.Number({ minimum: 0 });
export const Percent = Type.Number({ minimum: 0, maximum: 100 });
