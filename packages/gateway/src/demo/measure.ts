/**
 * The summary's arithmetic (pure): energy from sampled power, compliance samples per event, command
 * outcomes per event and the lag to a confirmed setpoint. Times are real epoch ms (what the gateway
 * stamps); energies are simulated Wh (real duration x speed), the demo day's own units.
 */
import type { Command } from '@gridseam/model';
import { HOUR_MS } from './clock.ts';

export interface PowerSample {
  /** Real epoch ms. */
  at: number;
  /** W. */
  value: number;
}

/**
 * The energy of a sampled power over [fromMs, toMs) (real ms), in simulated Wh: each sample holds
 * until the next one, at most `maxHoldMs` (a device that stopped answering contributes nothing
 * after that), and `counted` turns a sample into the power counted (W).
 */
export function heldEnergyWh(
  samples: readonly PowerSample[],
  window: { fromMs: number; toMs: number },
  options: { speed: number; maxHoldMs: number; counted?: (sample: PowerSample) => number },
): number {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const counted = options.counted ?? ((sample: PowerSample) => sample.value);
  let wattMs = 0;
  for (let i = 0; i < sorted.length; i++) {
    const sample = sorted[i]!;
    const next = sorted[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const start = Math.max(sample.at, window.fromMs);
    const end = Math.min(next, window.toMs, sample.at + options.maxHoldMs);
    if (end > start) wattMs += counted(sample) * (end - start);
  }
  return (wattMs * options.speed) / HOUR_MS;
}

/** The p-th percentile (0..100) by nearest rank; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

/** One compliance target of the control engine (control/engine.ts ComplianceTarget), as sampled. */
export interface ComplianceSample {
  value: number;
  inForce: boolean;
  deliveredW?: number;
  compliant?: boolean;
  shortfallW?: number;
}

export interface ComplianceResult {
  /** Target samples taken while the event was in force (site x sample). */
  samples: number;
  /** The target, W (the mean when it varied), in the engine's sign (generator convention). */
  targetW: number | null;
  /** Mean delivered power over the samples, W, generator convention (a site meter: export positive). */
  meanDeliveredW: number | null;
  /** Share of samples the engine judged compliant, %. */
  compliantPct: number | null;
  maxShortfallW: number | null;
}

/** Compliance samples per event, from repeated ControlEngine.compliance() answers. */
export class ComplianceTally {
  readonly #events = new Map<
    string,
    { samples: number; target: number; delivered: number; compliant: number; maxShortfall: number }
  >();

  /** Counts a target when the event's control was the one in force and the engine could judge it. */
  add(eventId: string, target: ComplianceSample): void {
    if (!target.inForce || target.compliant === undefined || target.deliveredW === undefined) return;
    let entry = this.#events.get(eventId);
    if (entry === undefined) {
      entry = { samples: 0, target: 0, delivered: 0, compliant: 0, maxShortfall: 0 };
      this.#events.set(eventId, entry);
    }
    entry.samples++;
    entry.target += target.value;
    entry.delivered += target.deliveredW;
    if (target.compliant) entry.compliant++;
    entry.maxShortfall = Math.max(entry.maxShortfall, target.shortfallW ?? 0);
  }

  result(eventId: string): ComplianceResult {
    const entry = this.#events.get(eventId);
    if (entry === undefined || entry.samples === 0)
      return { samples: 0, targetW: null, meanDeliveredW: null, compliantPct: null, maxShortfallW: null };
    return {
      samples: entry.samples,
      targetW: round(entry.target / entry.samples, 1),
      meanDeliveredW: round(entry.delivered / entry.samples, 1),
      compliantPct: round((100 * entry.compliant) / entry.samples, 1),
      maxShortfallW: round(entry.maxShortfall, 1),
    };
  }
}

export interface CommandOutcome {
  /** Commands the engine issued for the event. */
  total: number;
  /** Confirmed by the device's read-back (matched), at any time of their life. */
  confirmed: number;
  failed: number;
  /** Neither: expired, superseded or still pending before a confirmation. */
  unconfirmed: number;
  /** Devices commanded, and those with at least one confirmed command. */
  devices: number;
  devicesConfirmed: number;
}

function confirmedAt(command: Command): number | undefined {
  if (command.readBack?.matched !== true) return undefined;
  return command.history.find((change) => change.status === 'confirmed')?.at;
}

/** What became of one event's commands. */
export function commandOutcome(commands: readonly Command[]): CommandOutcome {
  const devices = new Set<string>();
  const confirmedDevices = new Set<string>();
  let confirmed = 0;
  let failed = 0;
  for (const command of commands) {
    devices.add(command.deviceId);
    if (confirmedAt(command) !== undefined) {
      confirmed++;
      confirmedDevices.add(command.deviceId);
    } else if (command.status === 'failed') failed++;
  }
  return {
    total: commands.length,
    confirmed,
    failed,
    unconfirmed: commands.length - confirmed - failed,
    devices: devices.size,
    devicesConfirmed: confirmedDevices.size,
  };
}

export interface LagResult {
  /** Devices with a confirmed setpoint for the event. */
  devices: number;
  p50Ms: number | null;
  /** The last device's lag: from the event's start to its first confirmed setpoint. */
  maxMs: number | null;
}

/** Per device, from the event's start to the first of its commands confirmed by read-back (never below 0). */
export function confirmationLag(commands: readonly Command[], startMs: number): LagResult {
  const first = new Map<string, number>();
  for (const command of commands) {
    const at = confirmedAt(command);
    if (at === undefined) continue;
    const known = first.get(command.deviceId);
    if (known === undefined || at < known) first.set(command.deviceId, at);
  }
  const lags = [...first.values()].map((at) => Math.max(0, at - startMs));
  return { devices: lags.length, p50Ms: percentile(lags, 50), maxMs: lags.length === 0 ? null : Math.max(...lags) };
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
