/**
 * The gateway's rolling-horizon battery dispatch (issue 9): application wiring around the
 * optimiser of @gridseam/dispatch. `startDispatch` builds it from the `dispatch` config section.
 */
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';
import type { DispatchSection } from '../config/dispatch.ts';
import type { FleetRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import { DispatchPlanStore } from './plan-store.ts';
import { type ExternalPricePoint, openPriceSource } from './prices.ts';
import { type DispatchEngine, DispatchScheduler } from './scheduler.ts';
import { dispatchSettings } from './settings.ts';
import type { DispatchTimeScale } from './timescale.ts';

export { historyEntry, wearOf } from './documents.ts';
export { batteryControls, beatsDispatch, fitFirstWindowToEnergy, powerBounds, windowsFor } from './overrides.ts';
export { DISPATCH_PLANS_NAMESPACE, type DispatchPlanReader, DispatchPlanStore } from './plan-store.ts';
export {
  type ExternalPricePoint,
  type IntervalPrices,
  openPriceSource,
  type PriceSource,
  SAMPLE_PRICES_FILE,
} from './prices.ts';
export {
  BATTERY_CLASSES,
  type BatteryCandidate,
  batteryParams,
  buildPlanRequest,
  enrolledBatteries,
  exclusionOf,
  plannedBattery,
  type TimedValue,
} from './request.ts';
export {
  DISPATCH_ACTOR,
  type DispatchEngine,
  DispatchScheduler,
  type DispatchSchedulerOptions,
  plannedSocAt,
} from './scheduler.ts';
export { type DispatchSettings, dispatchSettings } from './settings.ts';
export {
  type DispatchTimeScale,
  eventWindows,
  MIN_REAL_INTERVAL_MS,
  type PlanTimeline,
  planTimeline,
  REAL_TIME,
  realIntervalMs,
  simulatedInstant,
  simulatedPricePoints,
} from './timescale.ts';
export type * from './types.ts';

export interface StartDispatchOptions {
  store: Store;
  bus: Bus;
  registry: FleetRegistry;
  engine: DispatchEngine;
  logger: Logger;
  externalPrices?: () => readonly ExternalPricePoint[];
  isOnline?: (deviceId: string) => boolean | undefined;
  /**
   * Plans on a simulated clock (a simulated fleet at accelerated time, e.g. the demo): plan
   * intervals and prices in simulated time, events and stored plans in real time (timescale.ts).
   * Default: real time.
   */
  timeScale?: DispatchTimeScale;
}

/**
 * Opens the price source, the plan store and the scheduler, and starts it (the first plan is made
 * at once). A failed start closes what it opened before the error is thrown.
 */
export async function startDispatch(
  section: DispatchSection,
  options: StartDispatchOptions,
): Promise<{ scheduler: DispatchScheduler; plans: DispatchPlanStore }> {
  const settings = dispatchSettings(section, options.timeScale);
  const prices = await openPriceSource(settings.prices);
  const plans = new DispatchPlanStore(options.store, { historySize: settings.historySize });
  const scheduler = new DispatchScheduler({
    settings,
    prices,
    plans,
    store: options.store,
    bus: options.bus,
    registry: options.registry,
    engine: options.engine,
    logger: options.logger,
    ...(options.externalPrices ? { externalPrices: options.externalPrices } : {}),
    ...(options.isOnline ? { isOnline: options.isOnline } : {}),
  });
  try {
    await scheduler.start();
  } catch (error) {
    await scheduler.close();
    throw error;
  }
  options.logger.info(
    {
      programId: settings.programId,
      primacy: settings.primacy,
      cadenceS: settings.cadenceMs / 1000,
      intervalS: settings.intervalMs / 1000,
      ...(settings.timeScale.speed !== 1
        ? { speed: settings.timeScale.speed, realIntervalS: settings.realIntervalMs / 1000 }
        : {}),
      intervals: settings.horizonIntervals,
      prices: prices.description,
    },
    'dispatch started',
  );
  return { scheduler, plans };
}
