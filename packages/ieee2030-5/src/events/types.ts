/**
 * Input and output shapes of the IEEE 2030.5 event rules. The inputs are deliberately minimal and structurally
 * compatible with the decoded resources (DERControl, DefaultDERControl, EventStatus): property names are the XML
 * local names, times are epoch seconds. Program membership (`programId`, `programPrimacy`) and the server- or
 * client-side state (`cancelled`, `superseded`) are supplied by the caller.
 */

/**
 * DERControlBase fields that are control types: 2030.5-2018 DERControlBase (every opMod* element; `rampTms` is a
 * modifier, not a control type) plus the CSIP-AUS extensions (csipaus-ext v1.2/v1.3). Supersession and primacy are
 * decided per control type, so a new export limit never displaces an import limit.
 */
export const CONTROL_TYPES = [
  'opModConnect',
  'opModEnergize',
  'opModFixedPFAbsorbW',
  'opModFixedPFInjectW',
  'opModFixedVar',
  'opModFixedW',
  'opModFreqDroop',
  'opModFreqWatt',
  'opModHFRTMayTrip',
  'opModHFRTMustTrip',
  'opModHVRTMayTrip',
  'opModHVRTMomentaryCessation',
  'opModHVRTMustTrip',
  'opModLFRTMayTrip',
  'opModLFRTMustTrip',
  'opModLVRTMayTrip',
  'opModLVRTMomentaryCessation',
  'opModLVRTMustTrip',
  'opModMaxLimW',
  'opModTargetVar',
  'opModTargetW',
  'opModVoltVar',
  'opModVoltWatt',
  'opModWattPF',
  'opModWattVar',
  // CSIP-AUS (csipaus-ext): site/device import, export, generation and load limits; storage target (v1.3).
  'opModExpLimW',
  'opModGenLimW',
  'opModImpLimW',
  'opModLoadLimW',
  'opModStorageTargetW',
] as const;

export type ControlType = (typeof CONTROL_TYPES)[number];

/**
 * EventStatus.currentStatus values (2030.5 EventStatus; envoy-schema EventStatusType). Same numbers as
 * resources' EVENT_STATUS, named apart so both modules can be re-exported from the package root.
 */
export const CURRENT_STATUS = {
  Scheduled: 0,
  Active: 1,
  Cancelled: 2,
  CancelledWithRandomization: 3,
  Superseded: 4,
} as const;

export type CurrentStatus = (typeof CURRENT_STATUS)[keyof typeof CURRENT_STATUS];

/**
 * The Response.status values a DER client sends for DERControls (2030.5 Table 27; SAPN accepts only these).
 * A subset of resources' RESPONSE_STATUS, named apart for the same reason.
 */
export const CONTROL_RESPONSE = {
  Received: 1,
  Started: 2,
  Completed: 3,
  Cancelled: 6,
  Superseded: 7,
} as const;

export type ControlResponseStatus = (typeof CONTROL_RESPONSE)[keyof typeof CONTROL_RESPONSE];

/** DERControlBase values by control type; any other member (e.g. `rampTms`, extensions) is ignored. */
export type ControlBaseValues = { readonly [K in ControlType]?: unknown } & { readonly rampTms?: unknown };

/** DateTimeInterval: start in epoch seconds, duration in seconds. */
export interface EventInterval {
  start: number;
  duration: number;
}

/** A DERControl as the event rules see it. */
export interface ScheduledControl {
  mRID: string;
  creationTime: number;
  interval: EventInterval;
  /** OneHourRangeType seconds, -3600..3600; absent means 0. */
  randomizeStart?: number | undefined;
  /** OneHourRangeType seconds, -3600..3600; absent means 0. */
  randomizeDuration?: number | undefined;
  DERControlBase: ControlBaseValues;
  /** The DERProgram the control belongs to (any stable identifier, e.g. its href). */
  programId: string;
  /** DERProgram.primacy: the lower value has the higher priority. */
  programPrimacy: number;
  /** responseRequired bitmap: a number or the HexBinary8 text ("03"); absent means no responses. */
  responseRequired?: number | string | undefined;
  /**
   * Cancellation. `at` is the cancellation time (EventStatus.dateTime). `randomized` says whether clients end the
   * event with end randomization (status 3); absent means "when the control has any randomisation".
   */
  cancelled?: { at: number; randomized?: boolean | undefined } | undefined;
  /** Superseded from `at` (EventStatus 4, dateTime). */
  superseded?: { at: number } | undefined;
  /** potentiallySuperseded flag, set at `at` (EventStatus.potentiallySupersededTime). */
  potentiallySuperseded?: { at: number } | undefined;
}

/** A DefaultDERControl and the program it belongs to. */
export interface DefaultControl {
  programId: string;
  programPrimacy: number;
  mRID?: string | undefined;
  DERControlBase: ControlBaseValues;
}

/** Random offsets a client draws once per control (integer seconds). */
export interface RandomizationOffsets {
  /** Added to interval.start, within [min(0, randomizeStart), max(0, randomizeStart)]. */
  startOffset: number;
  /** Added to interval.duration, within [min(0, randomizeDuration), max(0, randomizeDuration)]. */
  durationOffset: number;
  /** Delay after a randomized cancellation, within [0, max(|randomizeStart|, |randomizeDuration|)]. */
  cancelOffset: number;
}

/** A half-open window [start, end) in epoch seconds. */
export interface EffectiveWindow {
  start: number;
  end: number;
}
