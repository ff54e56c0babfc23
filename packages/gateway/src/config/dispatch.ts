import { isAbsolute, resolve } from 'node:path';
import { Id, PROGRAM_KINDS, type Program } from '@gridseam/model';
import Type, { type Static } from 'typebox';

/**
 * The `dispatch` section: the rolling-horizon battery dispatch (src/dispatch/scheduler.ts). The
 * enrolled batteries of one program are re-planned every `cadenceSeconds` and on events, and the
 * first intervals of each plan become that program's events in the control engine. Absent: no
 * dispatch. Every key but `prices.path` has a default. Documented in docs/dispatch-engine.md.
 */

export const DEFAULT_DISPATCH_PROGRAM_ID = 'dispatch';
/** Below every utility program by default (2030.5 and OpenADR programs use small numbers). */
export const DEFAULT_DISPATCH_PRIMACY = 200;
export const DEFAULT_DISPATCH_CADENCE_S = 300;
export const DEFAULT_DISPATCH_INTERVAL_S = 900;
export const DEFAULT_DISPATCH_HORIZON_MIN = 1440;
export const DEFAULT_DISPATCH_MIN_REPLAN_S = 10;
export const DEFAULT_DISPATCH_SOC_DEVIATION_PCT = 5;
export const DEFAULT_DISPATCH_HISTORY = 288;
/**
 * Baseline adjustment windows (bess_market.md §3.2, §3.3): CAISO 10-in-10 and PJM CBL adjust the
 * baseline on the 3 hours ending 1 hour before the event start; charging a battery there inflates
 * the measured reduction (§3.5, adjustment-window gaming), so dispatch keeps batteries out of it.
 */
export const DEFAULT_BASELINE_WINDOW_HOURS = 3;
export const DEFAULT_BASELINE_GAP_HOURS = 1;
export const DEFAULT_BASELINE_PROGRAM_KINDS: readonly Program['kind'][] = Object.freeze(['demand-response']);
/** The simulators' and a typical lithium-ion pack's round-trip efficiency. */
export const DEFAULT_ROUND_TRIP_EFFICIENCY = 0.9;

const IdList = Type.Array(Id, { maxItems: 10000, uniqueItems: true });
const FilePath = Type.String({ minLength: 1, maxLength: 4096 });
const UtcOffset = Type.Integer({ minimum: -1440, maximum: 1440 });
const PriceList = Type.Array(Type.Number(), { minItems: 1, maxItems: 100000 });

/** The shipped CAISO days (packages/dispatch/data), repeated day by day on the time of day. */
export const SamplePrices = Type.Object(
  {
    kind: Type.Literal('sample'),
    /** Shifts the series' day onto the local day: local = UTC + offset (e.g. -480 for CAISO's PST). */
    utcOffsetMinutes: Type.Optional(UtcOffset),
  },
  { additionalProperties: false },
);

/** A price CSV (parsed by @gridseam/dispatch readPriceCsv); relative paths resolve against the config file. */
export const CsvPrices = Type.Object(
  {
    kind: Type.Literal('csv'),
    path: FilePath,
    priceColumn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    timeColumn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    regUpColumn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    regDownColumn: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    intervalMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
    /** absolute: the file's own times (the horizon ends where the file does); repeat-days: its whole days in turn. */
    mapping: Type.Optional(Type.Enum(['absolute', 'repeat-days'])),
    utcOffsetMinutes: Type.Optional(UtcOffset),
  },
  { additionalProperties: false },
);

/** Prices written in the file from `start`, one per `intervalSeconds` ($/MWh; regulation $/MW-h). */
export const InlinePrices = Type.Object(
  {
    kind: Type.Literal('inline'),
    /** ISO 8601 instant with an offset, or epoch ms. */
    start: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0 })]),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 86400 }),
    usdPerMwh: PriceList,
    regUpUsdPerMwH: Type.Optional(PriceList),
    regDownUsdPerMwH: Type.Optional(PriceList),
  },
  { additionalProperties: false },
);

export const DispatchPrices = Type.Union([SamplePrices, CsvPrices, InlinePrices]);
export type DispatchPrices = Static<typeof DispatchPrices>;

const StressFunction = Type.Object(
  { k: Type.Number({ minimum: 0 }), b: Type.Number({ minimum: 1 }) },
  { additionalProperties: false },
);

export const DispatchSection = Type.Object(
  {
    /** The dispatch program: created if missing, source 'market'; its events carry the plan. */
    programId: Type.Optional(Id),
    programName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    /** Lower wins (IEEE 2030.5 primacy): keep it above the utility programs' numbers. */
    primacy: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    /** Enrolments made at start (any made through the API count too). */
    enrol: Type.Optional(
      Type.Object(
        { siteIds: Type.Optional(IdList), deviceIds: Type.Optional(IdList) },
        { additionalProperties: false },
      ),
    ),
    /** Re-plan this often, seconds; events (program events, overrides, offline batteries, SoC jumps) re-plan sooner. */
    cadenceSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    /** Shortest gap between two event-triggered plans, seconds. */
    minReplanSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    /** Plan interval, seconds. */
    intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    /** Horizon, minutes (whole intervals; at least one). */
    horizonMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 1440 })),
    /** Plan intervals each event carries; default enough to reach the next plan, plus one. */
    setpointIntervals: Type.Optional(Type.Integer({ minimum: 1, maximum: 96 })),
    /** Re-plan when a battery's measured SoC is this many percentage points off its plan. */
    socDeviationPct: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100 })),
    /** A SoC reading older than this leaves the battery out; default the control engine's freshness limit. */
    socStaleSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    /** Plans kept in the history (one compact entry each). */
    historySize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    prices: Type.Optional(DispatchPrices),
    /** OpenADR 3 PRICE signals replace the base prices where they cover an interval. */
    openadrPrices: Type.Optional(Type.Boolean()),
    battery: Type.Optional(
      Type.Object(
        {
          /** Used when a device does not give its own. */
          roundTripEfficiency: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
          selfDischargePerHour: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
          /** Usable energy = SoH x nameplate (SoC readings are then a share of usable energy). */
          useStateOfHealth: Type.Optional(Type.Boolean()),
          /** Keep the site's connection import/export limits. */
          siteLimits: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    degradation: Type.Optional(
      Type.Object(
        {
          throughputUsdPerMwh: Type.Optional(Type.Number({ minimum: 0 })),
          cycleDepth: Type.Optional(
            Type.Object(
              {
                segments: Type.Integer({ minimum: 1, maximum: 100 }),
                replacementUsdPerMwh: Type.Number({ minimum: 0 }),
                stress: StressFunction,
              },
              { additionalProperties: false },
            ),
          ),
          calendarUsdPerMwhHour: Type.Optional(Type.Number({ minimum: 0 })),
          /** Phi(depth) = k depth^b for the rainflow wear of each plan; default cycleDepth.stress, else k 1/6000, b 2. */
          stress: Type.Optional(StressFunction),
        },
        { additionalProperties: false },
      ),
    ),
    /** End of the horizon: at-least-initial (default), free, or a value of stored energy. */
    terminal: Type.Optional(
      Type.Union([
        Type.Enum(['at-least-initial', 'free']),
        Type.Object({ valueUsdPerMwh: Type.Number() }, { additionalProperties: false }),
      ]),
    ),
    /**
     * No net charging of a battery in the day-of adjustment window before a baseline-settled event
     * at its site (src/dispatch/baseline-windows.ts): the `windowHours` hours ending `gapHours`
     * before the event start, for events of programs of `programKinds`. Integers as the
     * settlement's day-matching rules take them.
     */
    baselineProtection: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          windowHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 23 })),
          gapHours: Type.Optional(Type.Integer({ minimum: 0, maximum: 23 })),
          programKinds: Type.Optional(Type.Array(Type.Enum(PROGRAM_KINDS), { maxItems: 16, uniqueItems: true })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Offer regulation up/down capacity (the price source must have those columns). */
    regulation: Type.Optional(
      Type.Object({ sustainHours: Type.Number({ minimum: 0, maximum: 24 }) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type DispatchSection = Static<typeof DispatchSection>;

/** A relative CSV path resolved against the config file's folder. */
export function resolveDispatchPaths(
  section: DispatchSection | undefined,
  baseDir: string,
): DispatchSection | undefined {
  const prices = section?.prices;
  if (section === undefined || prices?.kind !== 'csv' || isAbsolute(prices.path)) return section;
  return { ...section, prices: { ...prices, path: resolve(baseDir, prices.path) } };
}
