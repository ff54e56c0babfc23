/**
 * Enumerated values of IEEE 2030.5-2018 fields used by the DER function set and CSIP-AUS. Only the numbers
 * live here; the event and response logic is elsewhere.
 */

/** EventStatus.currentStatus. */
export const EVENT_STATUS = {
  scheduled: 0,
  active: 1,
  cancelled: 2,
  cancelledWithRandomization: 3,
  superseded: 4,
} as const;
export type EventStatusCode = (typeof EVENT_STATUS)[keyof typeof EVENT_STATUS];

/** Response.status (2030.5-2018 Table 27). */
export const RESPONSE_STATUS = {
  eventReceived: 1,
  eventStarted: 2,
  eventCompleted: 3,
  userOptOut: 4,
  userOptIn: 5,
  eventCancelled: 6,
  eventSuperseded: 7,
  eventPartialOptOut: 8,
  eventPartialOptIn: 9,
  eventCompleteNoUserParticipation: 10,
  userAcknowledge: 11,
  userCannotDisplay: 12,
  eventAbortedServer: 13,
  eventAbortedProgram: 14,
  rejectedNotApplicable: 252,
  rejectedInvalid: 253,
  rejectedExpired: 254,
} as const;
export type ResponseStatusCode = (typeof RESPONSE_STATUS)[keyof typeof RESPONSE_STATUS];

/** Bits of RespondableResource.responseRequired (HexBinary8). */
export const RESPONSE_REQUIRED_BITS = {
  messageReceived: 0,
  specificResponse: 1,
  endUserResponse: 2,
} as const;

/** Bit positions of DERControlType (DERCapability.modesSupported, DERSettings.modesEnabled), 2030.5-2018. */
export const DER_CONTROL_TYPE_BITS = {
  charge: 0,
  discharge: 1,
  opModConnect: 2,
  opModEnergize: 3,
  opModFixedPFAbsorbW: 4,
  opModFixedPFInjectW: 5,
  opModFixedVar: 6,
  opModFixedW: 7,
  opModFreqDroop: 8,
  opModFreqWatt: 9,
  opModHFRTMayTrip: 10,
  opModHFRTMustTrip: 11,
  opModHVRTMayTrip: 12,
  opModHVRTMomentaryCessation: 13,
  opModHVRTMustTrip: 14,
  opModLFRTMayTrip: 15,
  opModLFRTMustTrip: 16,
  opModLVRTMayTrip: 17,
  opModLVRTMomentaryCessation: 18,
  opModLVRTMustTrip: 19,
  opModMaxLimW: 20,
  opModTargetVar: 21,
  opModTargetW: 22,
  opModVoltVar: 23,
  opModVoltWatt: 24,
  opModWattPF: 25,
  opModWattVar: 26,
} as const;

/** CSIP-AUS DOEControlType bits (doeModesSupported / doeModesEnabled). Follow the element names. */
export const DOE_CONTROL_BITS = {
  opModExpLimW: 0,
  opModImpLimW: 1,
  opModGenLimW: 2,
  opModLoadLimW: 3,
} as const;

/** CSIP-AUS 1.3 VPPControlType bits (vppModesSupported / vppModesEnabled). */
export const VPP_CONTROL_BITS = {
  opModStorageTargetW: 0,
} as const;

/** Resource `subscribable` attribute. */
export const SUBSCRIBABLE = {
  none: 0,
  subscribable: 1,
  withConditions: 2,
} as const;

/** Notification.status. */
export const NOTIFICATION_STATUS = {
  default: 0,
  subscriptionCancelledNoInfo: 1,
  subscriptionCancelledResourceMoved: 2,
  subscriptionCancelledDefinitionChanged: 3,
  subscriptionCancelledResourceDeleted: 4,
} as const;

/** Defaults the schema gives to optional attributes. */
export const SCHEMA_DEFAULTS = {
  pollRate: 900,
  subscribable: 0,
  responseRequired: '00',
} as const;
