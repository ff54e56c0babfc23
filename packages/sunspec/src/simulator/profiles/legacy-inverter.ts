/**
 * legacy-inverter: a pre-1547-2018 single-phase PV inverter. Models 1, 101, 120, 121, 122, 123,
 * end; no 7xx models.
 *
 * Quirk on purpose: W_SF and DCW_SF of model 101 change with the power level (-1 below 1 kW, 0
 * above), as Fronius does with DCW_SF (device_edge notes 1.3), so a reader must take the scale
 * factor from the same read as the value. Production is the clear-sky curve capped by 121 WMax and,
 * when WMaxLim_Ena, by 123 WMaxLimPct of WMax; 123 Conn = DISCONNECT stops it.
 */
import { DeviceBase } from '../device.ts';
import type { PointSlot } from '../layout.ts';
import { unitVariation } from '../physics.ts';
import type { RegisterMap, RegisterMapOptions } from '../register-map.ts';
import { PowerControls, type PvOptions } from './pv-inverter.ts';
import {
  add123Reversions,
  buildMap,
  clearSkyW,
  commonModel,
  group,
  InverterModelWriter,
  immediateControlsModel,
  inverterModel,
  invStFrom103,
  NOMINAL_HZ,
  NOMINAL_PHASE_V,
  nameplateModel,
  pvTick,
  SUNSPEC_EPOCH_S,
  writeIdentity,
} from './shared.ts';

export const LEGACY_SERIAL_PREFIX = 'SIMLEG';

export function legacyInverterTemplate(options: PvOptions, mapOptions: RegisterMapOptions): RegisterMap {
  const ratedW = options.ratedW ?? 5_000;
  const var_ = Math.round(ratedW * 0.44);
  return buildMap(
    [
      commonModel('SimLegacy-1ph', LEGACY_SERIAL_PREFIX, 0),
      inverterModel(101),
      nameplateModel(4, ratedW, 1),
      {
        id: 121,
        values: group({
          WMax: ratedW,
          VRef: NOMINAL_PHASE_V,
          VRefOfs: 0,
          VMax: 264.5,
          VMin: 195.5,
          VAMax: ratedW,
          VArMaxQ1: var_,
          VArMaxQ2: var_,
          VArMaxQ3: -var_,
          VArMaxQ4: -var_,
          WGra: 100,
          PFMinQ1: 0.9,
          PFMinQ2: 0.9,
          PFMinQ3: -0.9,
          PFMinQ4: -0.9,
          VArAct: 1,
          ClcTotVA: 1,
          MaxRmpRte: 100,
          ECPNomHz: NOMINAL_HZ,
          ConnPh: 1,
          WMax_SF: 0,
          VRef_SF: -1,
          VRefOfs_SF: -1,
          VMinMax_SF: -1,
          VAMax_SF: 0,
          VArMax_SF: 0,
          WGra_SF: 0,
          PFMin_SF: -3,
          MaxRmpRte_SF: 0,
          ECPNomHz_SF: -2,
        }),
      },
      {
        id: 122,
        values: group({
          PVConn: 0,
          StorConn: 0,
          ECPConn: 0b10, // CONNECTED
          ActWh: 0,
          ActVAh: 0,
          ActVArhQ1: 0,
          ActVArhQ2: 0,
          ActVArhQ3: 0,
          ActVArhQ4: 0,
          VArAval: var_,
          VArAval_SF: 0,
          WAval: 0,
          WAval_SF: 0,
          StSetLimMsk: 0,
          StActCtl: 0,
          TmSrc: 'RTC',
          Tms: 0,
          RtSt: 0,
        }),
      },
      immediateControlsModel(),
    ],
    {
      ...mapOptions,
      limits: {
        '121.WMax': [0, ratedW],
        '121.VAMax': [0, ratedW],
        '121.VRef': [180, 280],
        '121.VRefOfs': [-20, 20],
        '121.VMax': [180, 300],
        '121.VMin': [100, 280],
        '121.ECPNomHz': [45, 65],
        ...(mapOptions.limits ?? {}),
      },
    },
  );
}

export class LegacyInverter extends DeviceBase {
  readonly profile = 'legacy-inverter' as const;
  readonly ratedW: number;
  readonly peakW: number;
  readonly serialNumber: string;
  availableW = 0;
  whInjected: number;
  private readonly controls: PowerControls;
  private readonly inverter: InverterModelWriter;
  private readonly s: Record<string, PointSlot>;
  private readonly options: PvOptions;

  constructor(unit: number, map: RegisterMap, startMs: number, options: PvOptions = {}) {
    super(unit, map, startMs);
    const v = unitVariation(unit);
    this.options = options;
    this.ratedW = options.ratedW ?? 5_000;
    this.peakW = this.ratedW * (options.peakFraction ?? 0.85 + 0.1 * v);
    this.serialNumber = writeIdentity(map, LEGACY_SERIAL_PREFIX, unit);
    this.whInjected = Math.round(20_000_000 + 2_000_000 * v);
    this.controls = new PowerControls(map, 121);
    this.inverter = new InverterModelWriter(map, 101);
    this.s = Object.fromEntries(
      ['PVConn', 'ActWh', 'ActVAh', 'WAval', 'StSetLimMsk', 'Tms'].map((n) => [n, map.point(122, n)]),
    );
    add123Reversions(this);
    this.advance(startMs, startMs);
  }

  availableAt(simMs: number): number {
    return clearSkyW(this.peakW, simMs, this.options);
  }

  protected advance(fromMs: number, toMs: number): void {
    const tick = pvTick(this.controls, fromMs, toMs, (t) => this.availableAt(t));
    const { connected, w, throttled, availableW: available } = tick;
    this.whInjected += tick.wh;
    this.availableW = available;
    this.acPowerW = w;
    const var_ = this.controls.reactiveW(w);
    this.inverter.write(
      {
        phases: 1,
        w,
        var: var_,
        whInjected: this.whInjected,
        whAbsorbed: 0,
        dcW: available > 0 && connected ? w / 0.96 : 0,
        dcV: available > 0 ? 350 : 0,
        tempC: 25 + (15 * w) / this.ratedW,
        st103: tick.st103,
        invSt701: invStFrom103(tick.st103),
        connected,
        throttlePct: 0,
        throttleSources: 0,
      },
      true,
    );
    const m = this.map;
    const s = this.s;
    // 122 PVConn bits: CONNECTED (0), AVAILABLE (1), OPERATING (2).
    m.setRaw(s.PVConn!, (connected ? 1 : 0) | (available > 0 ? 2 : 0) | (w > 0 ? 4 : 0));
    m.setRaw(s.ActWh!, Math.floor(this.whInjected));
    m.setRaw(s.ActVAh!, Math.floor(this.whInjected));
    m.set(s.WAval!, available);
    m.setRaw(s.StSetLimMsk!, throttled && tick.sources & 1 ? 1 : 0); // bit 0: WMax limit reached
    m.setRaw(s.Tms!, Math.max(0, Math.floor(toMs / 1000) - SUNSPEC_EPOCH_S));
  }
}
