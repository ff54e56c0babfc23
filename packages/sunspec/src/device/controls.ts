/**
 * Canonical setpoints -> SunSpec point writes (pure). 704 (IEEE 1547-2018 DER controls) wins over
 * the legacy 123/124 wherever both can do the job. Every control that has a SunSpec reversion
 * timer gets one set to the seconds left until the setpoint's expiry, so a device whose gateway
 * goes quiet falls back by itself (the 704 *RvrtTms pattern, also 123 *_RvrtTms and 124
 * InOutWRte_RvrtTms). The reversion values themselves (704 WMaxLimPctRvrt, WSetRvrt, ...) are
 * the device's configured fallback and are left alone.
 *
 * | kind                         | 704 present                               | else                                       |
 * | exportLimit, generationLimit | WMaxLimPct = W / WMax(702) %, RvrtTms, Ena | 123 WMaxLimPct (% of 121 WMax / 120 WRtg), WMaxLimPct_RvrtTms, WMaxLim_Ena |
 * | fixedW                       | WSetMod = WATTS, WSet, WSetRvrtTms, WSetEna | 124: StorCtl_Mod = CHARGE|DISCHARGE, OutWRte = p, InWRte = -p, p = W / WChaMax % |
 * | connect                      | -                                          | 123 Conn_RvrtTms, Conn                     |
 * | energize                     | 703 ES (no timer)                          | 123 Conn_RvrtTms, Conn                     |
 * | chargeLimit / dischargeLimit | -                                          | 124 InWRte / OutWRte (% of WChaMax), InOutWRte_RvrtTms, StorCtl_Mod bit CHARGE / DISCHARGE |
 * | targetSoc                    | -                                          | 802 SoCRsvMin, else 124 MinRsvPct (no timer) |
 *
 * 124 reading (Fronius, as used by evcc's fronius-gen24 template): with StorCtl_Mod DISCHARGE the
 * battery's discharge is bounded by OutWRte, with CHARGE its charge by InWRte; a negative rate
 * forces the opposite direction. Both bits with OutWRte = p and InWRte = -p pin the power to p.
 *
 * targetSoc is delivered as a reserve floor: the device keeps the SoC at or above the target
 * (charging up to it where its reserve logic does so). The gateway runs no control loop for it.
 * Reserve points have no reversion timer, so such a plan says `deviceReverts: false` and lists
 * the `restore` writes (the values before the setpoint) for the gateway to send at expiry. 802 has
 * no writable power limit, so charge and discharge limits need 124; 702 WChaRteMax/WDisChaRteMax
 * are writable settings but persistent and without a timer, so they are not used for setpoints.
 */
import { GridseamError, type Setpoint } from '@gridseam/model';
import type { DecodedModel } from '../codec/types.ts';
import { STORAGE_MODELS, storageRateBase, wMaxFor } from './canonical.ts';
import { hasAny, type Models, modelOf, numberAt, tidy } from './points.ts';

export interface PlannedWrite {
  modelId: number;
  /** Point name within the model (top-level points only). */
  path: string;
  /** Engineering value (scaled), as the codec's encodePointWrite takes it. */
  value: number;
}

export interface WritePlan {
  kind: Setpoint['kind'];
  /** In order: values and timers first, enables last, so nothing takes effect without its timeout. */
  writes: PlannedWrite[];
  /** The write that carries the setpoint, and the factor from its point value back to setpoint units. */
  primary: { modelId: number; path: string; factor: number };
  /** True when every write is covered by a device-side reversion timer. */
  deviceReverts: boolean;
  /** When the device does not revert by itself: the writes that restore the state before the setpoint. */
  restore: PlannedWrite[];
  notes: string[];
}

export interface PlanOptions {
  /** Now, ms since the epoch, for the reversion timers; default Date.now(). */
  now?: number;
}

/** 123 and 124 timers are uint16 seconds. */
const MAX_UINT16_SECONDS = 0xffff;
const ENABLED = 1;
const STOR_CTL_CHARGE = 1;
const STOR_CTL_DISCHARGE = 2;
const WSET_MOD_WATTS = 1;
const LOC_REM_CTL_LOCAL = 1;

function notSupported(setpoint: Setpoint, why: string): GridseamError {
  return new GridseamError('GW_ERR_NOT_SUPPORTED', `${setpoint.kind} is not supported by this device: ${why}`, {
    details: { kind: setpoint.kind },
  });
}

function clampPct(value: number): number {
  return tidy(Math.min(100, Math.max(0, value)));
}

class PlanBuilder {
  readonly writes: PlannedWrite[] = [];
  readonly notes: string[] = [];
  private timed = true;
  private readonly timerPaths = new Set<string>();
  primary: WritePlan['primary'] | undefined;

  constructor(
    private readonly models: Models,
    private readonly setpoint: Setpoint,
    private readonly seconds: number,
  ) {}

  model(id: number): DecodedModel {
    const model = modelOf(this.models, id);
    if (!model) throw notSupported(this.setpoint, `model ${id} is missing`);
    return model;
  }

  /** A point the plan cannot do without: unimplemented -> not supported. */
  required(modelId: number, path: string, value: number, factor?: number): this {
    if (numberAt(this.model(modelId), path) === undefined)
      throw notSupported(this.setpoint, `${modelId}.${path} is not implemented`);
    this.writes.push({ modelId, path, value });
    if (factor !== undefined) this.primary = { modelId, path, factor };
    return this;
  }

  /** An enable or mode point: written when implemented (a device without it applies the value directly). */
  optional(modelId: number, path: string, value: number): this {
    if (numberAt(this.model(modelId), path) !== undefined) this.writes.push({ modelId, path, value });
    else this.notes.push(`${modelId}.${path} is not implemented; not written`);
    return this;
  }

  /** A reversion timer in seconds; without it the device will not fall back by itself. */
  timer(modelId: number, path: string, maxSeconds: number): this {
    if (numberAt(this.model(modelId), path) === undefined) {
      this.timed = false;
      this.notes.push(`${modelId}.${path} is not implemented: the device will not revert by itself`);
      return this;
    }
    let seconds = this.seconds;
    if (seconds > maxSeconds) {
      seconds = maxSeconds;
      this.notes.push(`${modelId}.${path} capped at ${maxSeconds} s: re-send before it runs out`);
    }
    this.writes.push({ modelId, path, value: seconds });
    this.timerPaths.add(`${modelId}.${path}`);
    return this;
  }

  untimed(): this {
    this.timed = false;
    return this;
  }

  build(): WritePlan {
    if (!this.primary) throw new Error('plan without a primary write');
    const restore = this.timed
      ? []
      : this.writes.flatMap((w) => {
          if (this.timerPaths.has(`${w.modelId}.${w.path}`)) return [];
          const before = numberAt(modelOf(this.models, w.modelId), w.path);
          return before === undefined ? [] : [{ modelId: w.modelId, path: w.path, value: before }];
        });
    return {
      kind: this.setpoint.kind,
      writes: this.writes,
      primary: this.primary,
      deviceReverts: this.timed,
      restore,
      notes: this.notes,
    };
  }
}

/**
 * The writes that deliver a setpoint to this device, or GW_ERR_NOT_SUPPORTED (kind unknown to
 * SunSpec, or the models/points it needs are missing), GW_ERR_VALIDATION (already expired), or
 * GW_ERR_DEVICE_REJECTED (an 802 battery under local control).
 */
export function planSetpoint(models: Models, setpoint: Setpoint, options: PlanOptions = {}): WritePlan {
  const now = options.now ?? Date.now();
  if (setpoint.expiry <= now)
    throw new GridseamError('GW_ERR_VALIDATION', `setpoint ${setpoint.id} expired before it could be written`, {
      issues: [{ path: '/expiry', message: 'expiry is in the past' }],
    });
  const seconds = Math.max(1, Math.ceil((setpoint.expiry - now) / 1000));
  const plan = new PlanBuilder(models, setpoint, seconds);
  const has = (id: number) => modelOf(models, id) !== undefined;
  const value = setpoint.value;

  switch (setpoint.kind) {
    case 'exportLimit':
    case 'generationLimit': {
      if (value < 0) throw notSupported(setpoint, 'a negative limit');
      const control = has(704) && numberAt(modelOf(models, 704), 'WMaxLimPct') !== undefined ? 704 : has(123) ? 123 : 0;
      if (control === 0) throw notSupported(setpoint, 'no 704 or 123 WMaxLimPct');
      const wMax = wMaxFor(models, control);
      if (wMax === undefined) throw notSupported(setpoint, `no WMax to express watts as WMaxLimPct (${control})`);
      const pct = clampPct((value / wMax) * 100);
      if (pct === 100 && value > wMax) plan.notes.push(`limit ${value} W is above WMax ${wMax} W: 100 %`);
      if (control === 704) {
        plan
          .required(704, 'WMaxLimPct', pct, wMax / 100)
          .timer(704, 'WMaxLimPctRvrtTms', 0xffffffff)
          .optional(704, 'WMaxLimPctEna', ENABLED);
      } else {
        plan
          .required(123, 'WMaxLimPct', pct, wMax / 100)
          .timer(123, 'WMaxLimPct_RvrtTms', MAX_UINT16_SECONDS)
          .optional(123, 'WMaxLim_Ena', ENABLED);
      }
      break;
    }
    case 'fixedW': {
      if (value < 0 && !hasAny(models, STORAGE_MODELS) && !isPvStorage(models))
        throw notSupported(setpoint, 'negative power (charging) needs storage');
      if (has(704) && numberAt(modelOf(models, 704), 'WSet') !== undefined) {
        plan
          .optional(704, 'WSetMod', WSET_MOD_WATTS)
          .required(704, 'WSet', value, 1)
          .timer(704, 'WSetRvrtTms', 0xffffffff)
          .optional(704, 'WSetEna', ENABLED);
        break;
      }
      const base = storageRateBase(models);
      if (!has(124) || base === undefined) throw notSupported(setpoint, 'no 704 WSet and no 124 with WChaMax');
      const pct = tidy(Math.min(100, Math.max(-100, (value / base) * 100)));
      if (Math.abs(value) > base) plan.notes.push(`|${value}| W is above WChaMax ${base} W: clamped`);
      plan
        .required(124, 'OutWRte', pct, base / 100)
        .required(124, 'InWRte', pct === 0 ? 0 : -pct)
        .timer(124, 'InOutWRte_RvrtTms', MAX_UINT16_SECONDS)
        .required(124, 'StorCtl_Mod', STOR_CTL_CHARGE | STOR_CTL_DISCHARGE);
      break;
    }
    case 'connect': {
      if (!has(123)) throw notSupported(setpoint, 'no 123 Conn');
      plan.timer(123, 'Conn_RvrtTms', MAX_UINT16_SECONDS).required(123, 'Conn', value === 0 ? 0 : 1, 1);
      break;
    }
    case 'energize': {
      if (has(703) && numberAt(modelOf(models, 703), 'ES') !== undefined) {
        // 1547-2018 "permit service": disabled, the DER ceases to energize. 703 has no reversion timer.
        plan.required(703, 'ES', value === 0 ? 0 : 1, 1).untimed();
        plan.notes.push('703.ES has no reversion timer: restore it at expiry');
      } else if (has(123)) {
        // Legacy fallback: a disconnected inverter does not energize the grid.
        plan.timer(123, 'Conn_RvrtTms', MAX_UINT16_SECONDS).required(123, 'Conn', value === 0 ? 0 : 1, 1);
      } else {
        throw notSupported(setpoint, 'no 703 ES and no 123 Conn');
      }
      break;
    }
    case 'chargeLimit':
    case 'dischargeLimit': {
      const base = storageRateBase(models);
      if (!has(124) || base === undefined) throw notSupported(setpoint, 'no 124 storage controls with WChaMax');
      const charge = setpoint.kind === 'chargeLimit';
      const pct = clampPct((value / base) * 100);
      const current = numberAt(modelOf(models, 124), 'StorCtl_Mod') ?? 0;
      // Keep the other direction's limit as it is: the bits are independent (124 StorCtl_Mod).
      const mode = current | (charge ? STOR_CTL_CHARGE : STOR_CTL_DISCHARGE);
      plan
        .required(124, charge ? 'InWRte' : 'OutWRte', pct, base / 100)
        .timer(124, 'InOutWRte_RvrtTms', MAX_UINT16_SECONDS)
        .required(124, 'StorCtl_Mod', mode);
      break;
    }
    case 'targetSoc': {
      const m802 = modelOf(models, 802);
      if (m802 && numberAt(m802, 'SoCRsvMin') !== undefined) {
        if (numberAt(m802, 'LocRemCtl') === LOC_REM_CTL_LOCAL)
          throw new GridseamError('GW_ERR_DEVICE_REJECTED', 'battery 802 is under local control (LocRemCtl LOCAL)', {
            details: { kind: setpoint.kind },
          });
        const low = numberAt(m802, 'SoCMin') ?? 0;
        const high = numberAt(m802, 'SoCMax') ?? 100;
        const target = Math.min(high, Math.max(low, value));
        if (target !== value)
          plan.notes.push(`target ${value} % outside the nameplate window ${low}..${high} %: ${target} %`);
        plan.required(802, 'SoCRsvMin', target, 1).untimed();
      } else if (has(124) && numberAt(modelOf(models, 124), 'MinRsvPct') !== undefined) {
        plan.required(124, 'MinRsvPct', clampPct(value), 1).untimed();
      } else {
        throw notSupported(setpoint, 'no 802 SoCRsvMin or 124 MinRsvPct');
      }
      plan.notes.push('targetSoc is a reserve floor without a reversion timer: restore it at expiry');
      break;
    }
    default:
      throw notSupported(setpoint, 'SunSpec has no control for it');
  }
  return plan.build();
}

/** Model 120 DERTyp PV_STOR: storage behind the inverter even without a storage model. */
function isPvStorage(models: Models): boolean {
  return numberAt(modelOf(models, 120), 'DERTyp') === 82;
}
