export { buildModel, type DispatchModel, describeColumn, describeRow, ROW_KIND } from './build.ts';
export * from './contract.ts';
export { diagnoseInfeasible, precheck, reachableMaxKwh } from './feasibility.ts';
export { type NormalRequest, normalizeRequest, segmentCosts } from './normalize.ts';
export {
  type CsvTable,
  MAX_CSV_BYTES,
  type PriceBlock,
  type PriceCsvOptions,
  type PriceSeries,
  parseCsv,
  parsePriceCsv,
  parseSocCsv,
  readBoundedTextFile,
  readPriceCsv,
  readSocCsv,
} from './prices.ts';
export { DEFAULT_STRESS, lifeConsumed, type RainflowCycle, rainflow, turningPoints } from './rainflow.ts';
export { DispatchSession, loadSolver, planDispatch, type SessionOptions } from './solve.ts';
export { DispatchWorker, type DispatchWorkerOptions, type PlanOptions } from './worker.ts';
