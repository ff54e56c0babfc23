/**
 * The shape shared by the simulated devices: a register map plus a physics model advanced in
 * simulated time, and the control reversion timers of SunSpec models 123, 124 and 704.
 */
import type { PointSlot } from './layout.ts';
import type { ModbusExceptionResult, RegisterMap } from './register-map.ts';

export const PROFILES = ['pv-inverter', 'battery', 'hybrid', 'meter', 'legacy-inverter'] as const;
export type ProfileName = (typeof PROFILES)[number];

export function isProfileName(value: string): value is ProfileName {
  return (PROFILES as readonly string[]).includes(value);
}

/** A reversion timer: when its deadline passes, `expire` restores the reversion state. */
export class Reversion {
  /** Simulated epoch ms at which it fires; Infinity when idle. */
  deadline = Number.POSITIVE_INFINITY;
  /** Simulated ms per ms of timeout, as of the last arming (see DeviceBase.timerScale). */
  private scale = 1;
  private readonly triggers: ReadonlySet<number>;

  constructor(
    readonly name: string,
    /** Slot indices whose write (re)starts the timer. */
    triggers: readonly PointSlot[],
    /** Seconds of the timeout, read at the write; 0 (or unimplemented) = no reversion. */
    private readonly timeoutSeconds: () => number,
    /** Whether the control is active after the write (an inactive control disarms the timer). */
    private readonly active: () => boolean,
    readonly expire: () => void,
  ) {
    this.triggers = new Set(triggers.map((s) => s.index));
  }

  /**
   * Re-arms or disarms after a write touching any of `written`. `scale` is simulated ms per ms of
   * timeout: 1 counts the timeout in simulated time, the simulator's speed counts it in real time.
   */
  written(written: readonly PointSlot[], nowMs: number, scale = 1): void {
    if (!written.some((s) => this.triggers.has(s.index))) return;
    const seconds = this.timeoutSeconds();
    this.scale = scale;
    this.deadline = seconds > 0 && this.active() ? nowMs + seconds * 1000 * scale : Number.POSITIVE_INFINITY;
  }

  /** Whole seconds left (in the timeout's own time), 0 when idle (the *RvrtRem points of model 704). */
  remainingSeconds(nowMs: number): number {
    if (this.deadline === Number.POSITIVE_INFINITY) return 0;
    return Math.max(0, Math.ceil((this.deadline - nowMs) / 1000 / this.scale));
  }
}

export interface SimulatedDevice {
  readonly profile: ProfileName;
  readonly unitId: number;
  readonly map: RegisterMap;
  /** AC rating, W (0 for a meter). */
  readonly ratedW: number;
  /** Simulated epoch ms of the last tick. */
  readonly nowMs: number;
  /** AC power at the last tick, W; positive = export / discharge (the SunSpec inverter sign). */
  readonly acPowerW: number;
  /**
   * Advances the physics to simulated epoch time `simMs` (ms); earlier times are ignored. Controls
   * written since the last tick govern the whole interval (writes through `write` tick first).
   */
  tick(simMs: number): void;
  /** Ticks to `simMs`, applies an FC16 write, and recomputes the outputs from the new controls. */
  write(address: number, values: Uint16Array, simMs: number): ModbusExceptionResult | undefined;
}

/** Base class: reversion timers, tick splitting at timer deadlines, write handling. */
export abstract class DeviceBase implements SimulatedDevice {
  abstract readonly profile: ProfileName;
  abstract readonly ratedW: number;
  readonly unitId: number;
  readonly map: RegisterMap;
  nowMs: number;
  acPowerW = 0;
  /**
   * Simulated ms per ms of a reversion timeout: 1 (default) runs the timers in simulated time; the
   * simulator sets its speed here when its timers follow real time (a gateway on real time).
   */
  timerScale = 1;
  protected readonly reversions: Reversion[] = [];

  constructor(unitId: number, map: RegisterMap, startMs: number) {
    this.unitId = unitId;
    this.map = map;
    this.nowMs = startMs;
    map.onWrite = (slots) => {
      for (const reversion of this.reversions) reversion.written(slots, this.nowMs, this.timerScale);
    };
  }

  tick(simMs: number): void {
    if (!(simMs > this.nowMs)) return;
    // Fire reversions at their deadline, so the interval before it runs with the old controls.
    for (;;) {
      let next: Reversion | undefined;
      for (const r of this.reversions)
        if (r.deadline <= simMs && (next === undefined || r.deadline < next.deadline)) next = r;
      if (next === undefined) break;
      const at = next.deadline;
      if (at > this.nowMs) this.advanceTo(at);
      next.deadline = Number.POSITIVE_INFINITY;
      next.expire();
      this.advanceTo(this.nowMs);
    }
    this.advanceTo(simMs);
  }

  write(address: number, values: Uint16Array, simMs: number): ModbusExceptionResult | undefined {
    this.tick(simMs);
    const result = this.map.write(address, values);
    if (result === undefined) this.advanceTo(this.nowMs);
    return result;
  }

  /** Integrates from `nowMs` to `toMs` (0 s = recompute outputs only), writes outputs, sets nowMs. */
  private advanceTo(toMs: number): void {
    this.advance(this.nowMs, toMs);
    this.nowMs = toMs;
  }

  protected abstract advance(fromMs: number, toMs: number): void;

  /** Registers a reversion timer (checked at every write and tick). */
  addReversion(reversion: Reversion): Reversion {
    this.reversions.push(reversion);
    return reversion;
  }

  /** Copies a reversion point's registers into its control point (same type). */
  protected copyRegisters(from: PointSlot, to: PointSlot): void {
    const base = this.map.base;
    const image = this.map.image;
    image.copyWithin(to.address - base, from.address - base, from.address - base + from.size);
  }

  /**
   * Model 704 reversion (SunSpec DER AC controls, *Rvrt / *EnaRvrt / *RvrtTms / *RvrtRem): when the
   * timeout passes after the control was last written, the control takes its reversion values.
   */
  add704Reversion(ena: string, enaRvrt: string, tms: string, pairs: readonly (readonly [string, string])[]): Reversion {
    const map = this.map;
    const enaSlot = map.point(704, ena);
    const enaRvrtSlot = map.point(704, enaRvrt);
    const tmsSlot = map.point(704, tms);
    const pairSlots = pairs.map(([c, r]) => [map.point(704, c), map.point(704, r)] as const);
    const reversion = new Reversion(
      ena,
      [enaSlot, tmsSlot, ...pairSlots.map(([c]) => c)],
      () => map.get(tmsSlot) ?? 0,
      () => map.get(enaSlot) === 1,
      () => {
        for (const [control, rvrt] of pairSlots) this.copyRegisters(rvrt, control);
        this.copyRegisters(enaRvrtSlot, enaSlot);
      },
    );
    this.reversions.push(reversion);
    return reversion;
  }

  /**
   * Model 123 reversion (*_RvrtTms, "timeout period"): 123 has no reversion values, so after the
   * timeout the point `enable` returns to `revertTo` (the limit/PF/var enables to DISABLED, Conn to
   * CONNECT); the timer runs only while `enable` holds `activeValue`.
   */
  add123Reversion(
    enable: string,
    tms: string,
    controls: readonly string[],
    activeValue: number,
    revertTo: number,
  ): Reversion {
    const map = this.map;
    const enableSlot = map.point(123, enable);
    const tmsSlot = map.point(123, tms);
    const reversion = new Reversion(
      enable,
      [enableSlot, tmsSlot, ...controls.map((c) => map.point(123, c))],
      () => map.get(tmsSlot) ?? 0,
      () => map.getRaw(enableSlot) === activeValue,
      () => map.setRaw(enableSlot, revertTo),
    );
    this.reversions.push(reversion);
    return reversion;
  }
}
