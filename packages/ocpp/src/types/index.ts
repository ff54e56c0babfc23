/**
 * The OCPP message types, one namespace per version, generated from the OCA JSON schemas by
 * scripts/generate-types.ts (`npm run generate:ocpp-types`): `V16.BootNotificationRequest`,
 * `V201.MeterValueType`, `V16.V16RequestMap`, `V201.V201_ACTIONS`, ...
 */
export * as V16 from './v16.ts';
export * as V201 from './v201.ts';
