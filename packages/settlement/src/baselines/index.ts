/** Baselines and M&V (bess_market.md §3): day-matching baselines, MBMA, MGO and event settlement. */
export { dayMatchingBaseline } from './day-matching.ts';
export { loadDaysFromHourly, loadDaysFromInstants } from './load-days.ts';
export { deviceMetering, meterBeforeMeterAfter } from './meter.ts';
export { type EventReportInput, eventReport, intervalsFromBaseline, settleEvent } from './performance.ts';
export { DEFAULT_DAY_MATCHING_RULES } from './rules.ts';
