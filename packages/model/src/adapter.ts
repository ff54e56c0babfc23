import type { Capabilities, DeviceClass } from './device.ts';
import type { Reading } from './reading.ts';
import type { Setpoint } from './setpoint.ts';

/**
 * The contract between a device adapter (SunSpec, OCPP, a vendor cloud, a simulator) and the
 * gateway core. An adapter speaks its device's dialect on one side and only these canonical types
 * on the other; it never talks to another adapter, the store or the bus. Failures are
 * GridseamErrors with the GW_ERR_DEVICE_* codes (unreachable, protocol, rejected) or
 * GW_ERR_NOT_SUPPORTED.
 */
export interface DeviceAdapter {
  readonly deviceId: string;
  /** Connects if needed and tells what the device is (from its own data, e.g. SunSpec model 1). */
  describe(): Promise<DeviceDescription>;
  /** One poll: the device's current values as canonical readings stamped `at`. Absent values are left out. */
  poll(at: number): Promise<Reading[]>;
  /**
   * Delivers a setpoint and reads it back. Resolves when the device confirmed it; rejects with
   * GW_ERR_DEVICE_REJECTED (refused, or read-back differs), GW_ERR_NOT_SUPPORTED, or a retryable
   * device error. The caller tracks the Command.
   */
  apply(setpoint: Setpoint): Promise<ApplyOutcome>;
  close(): Promise<void>;
}

export interface DeviceDescription {
  class: DeviceClass;
  manufacturer?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  capabilities: Capabilities;
}

export interface ApplyOutcome {
  /** What the device reported after the write, in the setpoint's unit. */
  readBack: { at: number; value: number };
  /** Protocol-level detail for the command history (e.g. the registers written). */
  detail?: string;
}
