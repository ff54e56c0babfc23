import Type, { type Static } from 'typebox';

/**
 * The `control` section: the control engine's timing (src/control/engine.ts). Every key has a
 * default, so the section may be left out. The engine's back-off for failing devices follows the
 * period (period x 2^(n-1), at most 10 periods), so it has no key of its own.
 */

export const DEFAULT_CONTROL_PERIOD_S = 60;
export const DEFAULT_SETPOINT_MARGIN_S = 30;

export const ControlSection = Type.Object(
  {
    /** How often the engine re-allocates and renews setpoints, seconds. */
    periodSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: DEFAULT_CONTROL_PERIOD_S }),
    /**
     * A setpoint's life beyond the period, seconds: a device falls back on its own this long after
     * the gateway goes quiet.
     */
    marginSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: DEFAULT_SETPOINT_MARGIN_S }),
    /**
     * Telemetry older than this is stale for every device: a stale device gets no setpoint that
     * depends on its state and its share goes to the others. Absent: 3 poll intervals (at least
     * 15 s) for a device the edge polls, else 300 s.
     */
    staleAfterSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  },
  // No section default: an absent section stays absent in the loaded config, and
  // controlEngineOptions gives the defaults for it.
  { additionalProperties: false },
);
export type ControlSection = Static<typeof ControlSection>;

/** What the section gives the ControlEngine (ms); an absent section gives the defaults. */
export function controlEngineOptions(section: ControlSection | undefined): {
  periodMs: number;
  marginMs: number;
  staleAfterMs?: number;
} {
  const options = {
    periodMs: (section?.periodSeconds ?? DEFAULT_CONTROL_PERIOD_S) * 1000,
    marginMs: (section?.marginSeconds ?? DEFAULT_SETPOINT_MARGIN_S) * 1000,
  };
  const staleAfterSeconds = section?.staleAfterSeconds;
  return staleAfterSeconds === undefined ? options : { ...options, staleAfterMs: staleAfterSeconds * 1000 };
}
