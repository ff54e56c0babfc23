import Type, { type Static } from 'typebox';
import { EpochMs, Id, Labels } from './common.ts';

/**
 * A group is an operator's set of devices; an aggregation is a group registered with a market
 * (FERC Order 2222 DER aggregation) and carries its market identity.
 */
export const Group = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 256 }),
    kind: Type.Enum(['group', 'aggregation']),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    market: Type.Optional(
      Type.Object(
        {
          iso: Type.String({ maxLength: 32 }),
          resourceId: Type.Optional(Type.String({ maxLength: 128 })),
          pricingNode: Type.Optional(Type.String({ maxLength: 128 })),
          minSizeW: Type.Optional(Type.Number({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
    labels: Type.Optional(Labels),
    createdAt: Type.Optional(EpochMs),
    updatedAt: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Group' },
);
export type Group = Static<typeof Group>;

/** Membership of one device in one group over [validFrom, validTo); validTo absent means open. */
export const Membership = Type.Object(
  {
    groupId: Id,
    deviceId: Id,
    validFrom: EpochMs,
    validTo: Type.Optional(EpochMs),
  },
  { additionalProperties: false, $id: 'Membership' },
);
export type Membership = Static<typeof Membership>;

export function isMemberAt(membership: Membership, at: number): boolean {
  return membership.validFrom <= at && (membership.validTo === undefined || at < membership.validTo);
}

/** The device ids that were members at an instant (settlement asks "who was in it at 14:05"). */
export function membersAt(memberships: readonly Membership[], at: number): string[] {
  const ids = new Set<string>();
  for (const membership of memberships) if (isMemberAt(membership, at)) ids.add(membership.deviceId);
  return [...ids].sort();
}
