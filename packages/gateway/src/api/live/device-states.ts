import type { DeviceStateMessage } from '../../bus/types.ts';

/** What the edge last said about a device on the bus topic 'device.state'. */
export interface DeviceStateNote {
  online: boolean;
  at: number;
  detail?: string;
}

/** Devices remembered at most; past this the oldest note is forgotten (the device counts as never announced). */
const MAX_DEVICES = 200_000;

/**
 * The online/offline state each device was last announced in on 'device.state' (the edge publishes
 * a change only: offline after repeated poll failures, online when it answers again). Filled by the
 * live hub's one subscription; read by the fleet summary. Notes older than one already kept are ignored.
 */
export class DeviceStates {
  readonly #notes = new Map<string, DeviceStateNote>();

  /** Records a bus message; false when it is malformed or older than what is kept. */
  record(message: unknown): message is DeviceStateMessage {
    if (typeof message !== 'object' || message === null) return false;
    const { deviceId, online, at, detail } = message as Partial<DeviceStateMessage>;
    if (typeof deviceId !== 'string' || typeof online !== 'boolean' || typeof at !== 'number' || !Number.isFinite(at))
      return false;
    const known = this.#notes.get(deviceId);
    if (known !== undefined && known.at > at) return false;
    this.#notes.delete(deviceId); // re-inserted last: Map order is then oldest note first
    this.#notes.set(deviceId, { online, at, ...(typeof detail === 'string' ? { detail: detail.slice(0, 256) } : {}) });
    if (this.#notes.size > MAX_DEVICES) {
      const oldest = this.#notes.keys().next().value;
      if (oldest !== undefined) this.#notes.delete(oldest);
    }
    return true;
  }

  get(deviceId: string): DeviceStateNote | undefined {
    return this.#notes.get(deviceId);
  }

  get size(): number {
    return this.#notes.size;
  }
}
