/**
 * @gridseam/ocpp: OCPP 1.6J and 2.0.1 typed messages, smart-charging schedules, the CSMS and a
 * charge-point simulator (issue 6). `contract.ts` holds the seams between them.
 */

export * from './adapter.ts';
export * from './canonical.ts';
export * from './contract.ts';
export * from './csms/index.ts';
export * from './simulator/index.ts';
export * from './smart-charging/index.ts';
export * from './types/index.ts';
export * from './validate.ts';
