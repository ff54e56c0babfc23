import Type, { type Static } from 'typebox';
import { EpochMs, Id, Labels, NonNegativeWatts } from './common.ts';

export const Location = Type.Object(
  {
    latitude: Type.Number({ minimum: -90, maximum: 90 }),
    longitude: Type.Number({ minimum: -180, maximum: 180 }),
    address: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);
export type Location = Static<typeof Location>;

/** Limits at the site's point of connection to the distribution network. */
export const ConnectionLimits = Type.Object(
  {
    /** Largest power the site may export to the grid, W (>= 0). */
    exportLimitW: Type.Optional(NonNegativeWatts),
    /** Largest power the site may import from the grid, W (>= 0). */
    importLimitW: Type.Optional(NonNegativeWatts),
    phases: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)])),
    nominalVoltageV: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100000 })),
  },
  { additionalProperties: false },
);
export type ConnectionLimits = Static<typeof ConnectionLimits>;

/** A service point: one connection to the grid, metered, holding devices. */
export const Site = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 256 }),
    /** The utility's service point identifier. */
    servicePointId: Type.Optional(Type.String({ maxLength: 128 })),
    /** Australian National Metering Identifier (CSIP-AUS ConnectionPoint). */
    nmi: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{10,11}$' })),
    meterId: Type.Optional(Type.String({ maxLength: 128 })),
    location: Type.Optional(Location),
    /** IANA time zone, e.g. America/Los_Angeles (baselines are computed in local time). */
    timezone: Type.Optional(Type.String({ maxLength: 64 })),
    connection: Type.Optional(ConnectionLimits),
    labels: Type.Optional(Labels),
    createdAt: Type.Optional(EpochMs),
    updatedAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Site' },
);
export type Site = Static<typeof Site>;
