/** The protocol-free device edge: polling, command delivery and device bring-up over DeviceAdapters. */
export { type EdgeClock, systemClock } from './clock.ts';
export {
  type AdapterDirectory,
  CommandExecutor,
  type CommandExecutorOptions,
  type CommandExecutorStats,
  directoryOf,
  EDGE_ACTOR,
  EDGE_COMMAND_GROUP,
  type ExecutionOutcome,
} from './executor.ts';
export {
  type EdgeDevice,
  type EdgeDeviceSpec,
  type EdgeDeviceState,
  type EdgeDeviceStatus,
  EdgeRuntime,
  type EdgeRuntimeOptions,
  type EdgeSource,
  type EdgeStartReport,
} from './runtime.ts';
export {
  busSink,
  DEFAULT_FAULTY_AFTER,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_POLL_CONCURRENCY,
  DEFAULT_POLL_JITTER,
  type DeviceHealth,
  type DevicePollStatus,
  type Pollable,
  PollScheduler,
  type PollSchedulerOptions,
  type PollSchedulerStats,
  type PollSink,
} from './scheduler.ts';
