import Type, { type Static } from 'typebox';
import type { SettlementServiceOptions } from '../settlement/index.ts';

/**
 * The `settlement` section: how the gateway settles local operating days into the ledger
 * (src/settlement/, docs/settlement.md "In the gateway"). Every key has a default, so the section
 * may be left out: days in UTC at 15-minute intervals, wear priced from the dispatch plan.
 */
export const SettlementSection = Type.Object(
  {
    /** The market's IANA time zone; days are its local operating days (23, 24 or 25 hours). */
    timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$' })),
    /** Settlement interval, minutes: 5, 15, 30 or 60 as markets settle; 1 for the demo's compressed day. */
    intervalMinutes: Type.Optional(
      Type.Union([Type.Literal(1), Type.Literal(5), Type.Literal(15), Type.Literal(30), Type.Literal(60)]),
    ),
    /** Shortfall penalty per program id, USD per kWh not delivered against an obligation. */
    penaltyUsdPerKwh: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Number({ minimum: 0, maximum: 100 })),
    ),
    /** Degradation price of throughput, USD/MWh; absent: each battery's plan cost per planned throughput. */
    throughputUsdPerMwh: Type.Optional(Type.Number({ minimum: 0, maximum: 10000 })),
    /** Settled vs metered differences below this are not gaps, kWh. */
    toleranceKwh: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
  },
  { additionalProperties: false },
);
export type SettlementSection = Static<typeof SettlementSection>;

/** Whether the runtime's zone data knows an IANA zone (a schema pattern cannot tell). */
export function knownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** What the section gives the SettlementService; an absent section gives its defaults. */
export function settlementServiceOptions(
  section: SettlementSection | undefined,
): Omit<SettlementServiceOptions, 'store' | 'plans' | 'now'> {
  return section === undefined ? {} : { ...section };
}
