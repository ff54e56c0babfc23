/**
 * The scenario file of `gridseam utility-server --scenario FILE` (YAML; documented in
 * docs/utility-server.md, example examples/utility-scenario.yaml): the EndDevices, DERPrograms,
 * DefaultDERControls and DERControls a test lab or utility starts with. It is parsed under the same
 * limits and with the same messages as the config (file + key path + expectation), then applied
 * through UtilityAdmin at every start. Applying is idempotent: what already exists is left alone
 * (EndDevices by LFDI/SFDI, programs by id, default controls by program and EndDevice, controls by
 * mRID, derived from the control's `id` when none is given), so a restart duplicates nothing.
 *
 * Units are the ones people write: watts for the power limits (converted to the 2030.5
 * {multiplier, value} form), percent for opModFixedW and opModMaxLimW (converted to hundredths),
 * seconds relative to the start of the server for control start times.
 */
import { createHash } from 'node:crypto';
import type { ControlBase, EndDeviceRecord, SetDefaultControlInput, UtilityAdmin } from '@gridseam/ieee2030-5';
import { GridseamError } from '@gridseam/model';
import { Ajv } from 'ajv';
import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { type ConfigIssue, issuesFromAjv, keyPathOf } from '../config/issues.ts';
import { configError, parseYaml, readConfigText } from '../config/load.ts';
import { LFDI_PATTERN } from './config.ts';

/** Largest SFDI: 36 bits of the LFDI, times ten, plus the check digit (IEEE 2030.5 §6.3.3). */
export const MAX_SFDI = (2 ** 36 - 1) * 10 + 9;
/** 2030.5 ActivePower / ReactivePower: value x 10^multiplier. */
export interface ScaledValue {
  multiplier: number;
  value: number;
}

/** Largest value of 2030.5 ActivePower.value (Int16). */
const INT16_MAX = 32767;

const Lfdi = Type.String({ pattern: LFDI_PATTERN });
const Sfdi = Type.Integer({ minimum: 0, maximum: MAX_SFDI });
/** An EndDevice named by its LFDI (40 hex) or SFDI (a decimal number). */
const EndDeviceRef = Type.Union([Lfdi, Sfdi]);
const ProgramId = Type.String({ pattern: '^[a-z0-9_-]{1,64}$' });
const Hex32 = Type.String({ pattern: '^[0-9a-fA-F]{32}$' });

/** A power in W, or already in the 2030.5 form. */
const Power = Type.Union([
  Type.Number({ minimum: -1e12, maximum: 1e12 }),
  Type.Object(
    {
      multiplier: Type.Integer({ minimum: -9, maximum: 9 }),
      value: Type.Integer({ minimum: -32768, maximum: INT16_MAX }),
    },
    { additionalProperties: false },
  ),
]);

/** The control modes a scenario may set, in the units people write. */
const OP_MODE_PROPERTIES = {
  opModConnect: Type.Optional(Type.Boolean()),
  opModEnergize: Type.Optional(Type.Boolean()),
  /** W at the connection point (CSIP-AUS). */
  opModExpLimW: Type.Optional(Power),
  opModImpLimW: Type.Optional(Power),
  opModGenLimW: Type.Optional(Power),
  opModLoadLimW: Type.Optional(Power),
  /** CSIP-AUS v1.3. */
  opModStorageTargetW: Type.Optional(Power),
  opModTargetW: Type.Optional(Power),
  /** var. */
  opModTargetVar: Type.Optional(Power),
  /** Percent of setMaxW, -100..100 (hundredths allowed). */
  opModFixedW: Type.Optional(Type.Number({ minimum: -100, maximum: 100 })),
  /** Percent of setMaxW, 0..100 (hundredths allowed). */
  opModMaxLimW: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
} satisfies Record<string, TSchema>;

type OpModeName = keyof typeof OP_MODE_PROPERTIES;
const OP_MODE_NAMES = Object.keys(OP_MODE_PROPERTIES) as OpModeName[];
const POWER_MODES = new Set<OpModeName>([
  'opModExpLimW',
  'opModImpLimW',
  'opModGenLimW',
  'opModLoadLimW',
  'opModStorageTargetW',
  'opModTargetW',
  'opModTargetVar',
]);
const PERCENT_MODES = new Set<OpModeName>(['opModFixedW', 'opModMaxLimW']);

const UInt16 = Type.Integer({ minimum: 0, maximum: 65535 });

export const ScenarioEndDevice = Type.Object(
  {
    lfdi: Type.Optional(Lfdi),
    sfdi: Type.Optional(Sfdi),
    /** Registration PIN (with its check digit), e.g. 111115. */
    pin: Type.Optional(Type.Integer({ minimum: 0, maximum: 999999 })),
    role: Type.Enum(['device', 'aggregator'], { default: 'device' }),
    /** LFDI of the aggregator certificate that manages this device. */
    aggregator: Type.Optional(Lfdi),
    /** DeviceCategoryType bitmap: hex text ('0c') or a number. */
    deviceCategory: Type.Optional(
      Type.Union([Type.String({ pattern: '^[0-9a-fA-F]{1,8}$' }), Type.Integer({ minimum: 0, maximum: 0xffffffff })]),
    ),
    /** CSIP-AUS ConnectionPoint id (the NMI). */
    nmi: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{1,32}$' })),
    postRate: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
    /** Programs it takes part in; absent: every program. */
    programs: Type.Optional(Type.Array(ProgramId, { uniqueItems: true, maxItems: 100 })),
    /** DERs under the EndDevice (ids 1..n); default 1. */
    derCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ScenarioProgram = Type.Object(
  {
    id: ProgramId,
    description: Type.String({ minLength: 1, maxLength: 32 }),
    /** Lower wins (DERProgram.primacy, UInt8). */
    primacy: Type.Integer({ minimum: 0, maximum: 255 }),
    mRID: Type.Optional(Hex32),
    /** The FunctionSetAssignments it is listed under; default 'default'. */
    fsa: Type.Optional(ProgramId),
  },
  { additionalProperties: false },
);

export const ScenarioDefaultControl = Type.Object(
  {
    program: ProgramId,
    /** Only for this EndDevice; absent: program-wide. */
    endDevice: Type.Optional(EndDeviceRef),
    description: Type.Optional(Type.String({ maxLength: 32 })),
    ...OP_MODE_PROPERTIES,
    /** Hundredths of %setMaxW per second (0 = no limit). */
    setGradW: Type.Optional(UInt16),
    setSoftGradW: Type.Optional(UInt16),
    setESDelay: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    setESRandomDelay: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    setESRampTms: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
    setESHighFreq: Type.Optional(UInt16),
    setESLowFreq: Type.Optional(UInt16),
    setESHighVolt: Type.Optional(Type.Integer({ minimum: -32768, maximum: 32767 })),
    setESLowVolt: Type.Optional(Type.Integer({ minimum: -32768, maximum: 32767 })),
  },
  { additionalProperties: false },
);

const TEN_YEARS_S = 10 * 365 * 86400;

export const ScenarioControl = Type.Object(
  {
    /** A name that keeps the control's identity across restarts (its mRID is derived from it). */
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' })),
    mRID: Type.Optional(Hex32),
    program: ProgramId,
    description: Type.Optional(Type.String({ maxLength: 32 })),
    /** Seconds from the server's start (negative: already begun). */
    start: Type.Integer({ minimum: -TEN_YEARS_S, maximum: TEN_YEARS_S, default: 0 }),
    /** Seconds. */
    duration: Type.Integer({ minimum: 1, maximum: TEN_YEARS_S }),
    randomizeStart: Type.Optional(Type.Integer({ minimum: -3600, maximum: 3600 })),
    randomizeDuration: Type.Optional(Type.Integer({ minimum: -3600, maximum: 3600 })),
    /** responseRequired bitmap as hex; default '03'. */
    responseRequired: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{2}$' })),
    /** The EndDevices addressed; absent: every EndDevice of the program. */
    endDevices: Type.Optional(Type.Array(EndDeviceRef, { minItems: 1, maxItems: 10000 })),
    ...OP_MODE_PROPERTIES,
  },
  { additionalProperties: false },
);

export const ScenarioSchema = Type.Object(
  {
    endDevices: Type.Array(ScenarioEndDevice, { maxItems: 100000, default: [] }),
    programs: Type.Array(ScenarioProgram, { maxItems: 1000, default: [] }),
    defaultControls: Type.Array(ScenarioDefaultControl, { maxItems: 10000, default: [] }),
    controls: Type.Array(ScenarioControl, { maxItems: 100000, default: [] }),
  },
  { additionalProperties: false },
);

export type Scenario = Static<typeof ScenarioSchema>;
export type ScenarioEndDevice = Static<typeof ScenarioEndDevice>;
export type ScenarioControl = Static<typeof ScenarioControl>;
export type ScenarioDefaultControl = Static<typeof ScenarioDefaultControl>;
type EndDeviceRef = Static<typeof EndDeviceRef>;

export interface LoadedScenario {
  scenario: Scenario;
  file: string;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false });
const validator = ajv.compile(ScenarioSchema);

/**
 * A power in W as 2030.5 ActivePower: the smallest power-of-ten multiplier (0 first, then larger,
 * then fractions down to 10^-3) that carries the value exactly in an Int16. Undefined when none does.
 */
export function scaledPower(watts: number): ScaledValue | undefined {
  for (const multiplier of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -2, -3]) {
    const rounded = Math.round(watts / 10 ** multiplier);
    if (Math.abs(rounded * 10 ** multiplier - watts) > 1e-9 * Math.max(1, Math.abs(watts))) continue;
    if (rounded < -INT16_MAX - 1 || rounded > INT16_MAX) continue;
    return { multiplier, value: rounded === 0 ? 0 : rounded };
  }
  return undefined;
}

/** Percent with at most two decimals as hundredths of a percent. */
function hundredths(percent: number): number | undefined {
  const value = percent * 100;
  const rounded = Math.round(value);
  return Math.abs(value - rounded) > 1e-6 ? undefined : rounded;
}

type OpModeSource = Partial<Record<OpModeName, unknown>>;

/** The ControlBase of a scenario item; problems are reported at `pointer`/<mode>. */
function controlBase(item: OpModeSource, pointer: string, root: unknown, issues: ConfigIssue[]): ControlBase {
  const base: Record<string, unknown> = {};
  for (const name of OP_MODE_NAMES) {
    const value = item[name];
    if (value === undefined) continue;
    const at = `${pointer}/${name}`;
    if (POWER_MODES.has(name)) {
      if (typeof value !== 'number') {
        base[name] = value;
        continue;
      }
      const scaled = scaledPower(value);
      if (scaled === undefined) {
        const approx = scaledPower(Number(value.toPrecision(4)));
        issues.push({
          path: at,
          keyPath: keyPathOf(at, root),
          message:
            `cannot be sent exactly as a 2030.5 value (an integer of at most ${INT16_MAX} times a power of ten)` +
            (approx
              ? `; write e.g. ${Number(value.toPrecision(4))} or { multiplier: ${approx.multiplier}, value: ${approx.value} }`
              : ''),
        });
        continue;
      }
      base[name] = scaled;
    } else if (PERCENT_MODES.has(name)) {
      const converted = typeof value === 'number' ? hundredths(value) : undefined;
      if (converted === undefined) {
        issues.push({
          path: at,
          keyPath: keyPathOf(at, root),
          message: 'must be a percentage with at most two decimals',
        });
        continue;
      }
      base[name] = converted;
    } else {
      base[name] = value;
    }
  }
  return base as ControlBase;
}

function refKey(ref: EndDeviceRef): string {
  return typeof ref === 'string' ? `lfdi:${ref.toLowerCase()}` : `sfdi:${ref}`;
}

/** Rules across items the schema cannot say: identities given and unique, at least one mode per control. */
function crossIssues(scenario: Scenario): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (path: string, message: string) => issues.push({ path, keyPath: keyPathOf(path, scenario), message });
  const seen = new Map<string, number>();
  scenario.endDevices.forEach((device, index) => {
    const path = `/endDevices/${index}`;
    if (device.lfdi === undefined && device.sfdi === undefined) at(path, 'must have an lfdi or an sfdi');
    for (const key of [device.lfdi, device.sfdi]) {
      if (key === undefined) continue;
      const first = seen.get(refKey(key));
      if (first !== undefined)
        at(`${path}/${typeof key === 'string' ? 'lfdi' : 'sfdi'}`, `duplicates endDevices[${first}] (${key})`);
      else seen.set(refKey(key), index);
    }
    if (device.role === 'aggregator' && device.aggregator !== undefined)
      at(`${path}/aggregator`, 'an aggregator EndDevice is not managed by another aggregator');
    if (device.role === 'aggregator' && device.lfdi === undefined)
      at(path, 'an aggregator must be given by its lfdi (its certificate)');
  });
  const programs = new Map<string, number>();
  scenario.programs.forEach((program, index) => {
    const first = programs.get(program.id);
    if (first !== undefined) at(`/programs/${index}/id`, `duplicates programs[${first}].id '${program.id}'`);
    else programs.set(program.id, index);
  });
  const defaults = new Map<string, number>();
  scenario.defaultControls.forEach((item, index) => {
    const key = `${item.program}\u0000${item.endDevice === undefined ? '' : refKey(item.endDevice)}`;
    const first = defaults.get(key);
    if (first !== undefined)
      at(`/defaultControls/${index}`, `sets the same default control as defaultControls[${first}]`);
    else defaults.set(key, index);
  });
  const names = new Map<string, number>();
  scenario.controls.forEach((control, index) => {
    const path = `/controls/${index}`;
    if (!OP_MODE_NAMES.some((name) => control[name] !== undefined))
      at(path, `must set at least one control mode (${OP_MODE_NAMES.join(', ')})`);
    if (control.id !== undefined) {
      const first = names.get(control.id);
      if (first !== undefined) at(`${path}/id`, `duplicates controls[${first}].id '${control.id}'`);
      else names.set(control.id, index);
    }
  });
  // Mode conversions report their own problems.
  scenario.defaultControls.forEach((item, index) => {
    controlBase(item, `/defaultControls/${index}`, scenario, issues);
  });
  scenario.controls.forEach((item, index) => {
    controlBase(item, `/controls/${index}`, scenario, issues);
  });
  return issues;
}

/** Parses and validates scenario text; `file` names it in messages. */
export function parseScenario(text: string, file: string): Scenario {
  const raw = parseYaml(text, file, 'a mapping with endDevices, programs, defaultControls and controls');
  const scenario = Value.Default(ScenarioSchema, raw);
  if (!validator(scenario)) throw configError(file, issuesFromAjv(validator.errors ?? [], scenario));
  const typed = scenario as Scenario;
  const issues = crossIssues(typed);
  if (issues.length > 0) throw configError(file, issues);
  return typed;
}

export async function loadScenario(path: string): Promise<LoadedScenario> {
  return { scenario: parseScenario(await readConfigText(path, 'scenario file'), path), file: path };
}

/** The mRID a scenario control gets when it names none: stable across restarts. */
export function scenarioControlMrid(control: ScenarioControl, index: number): string {
  if (control.mRID !== undefined) return control.mRID.toLowerCase();
  const name = control.id ?? `${control.program}#${index}`;
  return createHash('sha256').update(`gridseam scenario control ${name}`, 'utf8').digest('hex').slice(0, 32);
}

export interface ScenarioCounts {
  endDevices: number;
  programs: number;
  defaultControls: number;
  controls: number;
}

export interface ScenarioResult {
  /** What this start created. */
  created: ScenarioCounts;
  /** What was there already and was left alone. */
  existing: ScenarioCounts;
}

export interface ApplyScenarioOptions {
  /** Names the scenario in messages. */
  file?: string;
  /** Epoch seconds control starts are relative to; default now. */
  now?: number;
}

/** Errors the admin raises about the scenario's content become GW_ERR_CONFIG naming the item. */
function itemError(file: string, pointer: string, root: unknown, error: unknown): unknown {
  if (!GridseamError.is(error)) return error;
  if (!['GW_ERR_VALIDATION', 'GW_ERR_CONFLICT', 'GW_ERR_NOT_FOUND', 'GW_ERR_NOT_SUPPORTED'].includes(error.code))
    return error;
  return new GridseamError('GW_ERR_CONFIG', `${file}: ${keyPathOf(pointer, root)} was refused: ${error.message}`, {
    cause: error,
  });
}

async function step<T>(file: string, pointer: string, root: unknown, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw itemError(file, pointer, root, error);
  }
}

function referenceError(file: string, pointer: string, root: unknown, message: string): GridseamError {
  return new GridseamError('GW_ERR_CONFIG', `${file}: ${keyPathOf(pointer, root)} ${message}`);
}

/** EndDevices by LFDI and by SFDI, kept current as the scenario registers more. */
class EndDeviceIndex {
  readonly #byKey = new Map<string, EndDeviceRecord>();

  constructor(devices: readonly EndDeviceRecord[]) {
    for (const device of devices) this.add(device);
  }

  add(device: EndDeviceRecord): void {
    // An EndDevice registered by SFDI alone may have no LFDI.
    if (device.lfdi !== '') this.#byKey.set(refKey(device.lfdi), device);
    this.#byKey.set(refKey(device.sfdi), device);
  }

  find(ref: EndDeviceRef): EndDeviceRecord | undefined {
    return this.#byKey.get(refKey(ref));
  }
}

/**
 * Creates what the scenario declares and the server does not have yet, through the admin
 * operations (so everything is persisted and validated as an admin write would be). Aggregators
 * are registered before the devices they manage; programs before their controls.
 */
export async function applyScenario(
  admin: UtilityAdmin,
  scenario: Scenario,
  options: ApplyScenarioOptions = {},
): Promise<ScenarioResult> {
  const file = options.file ?? 'scenario';
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const created: ScenarioCounts = { endDevices: 0, programs: 0, defaultControls: 0, controls: 0 };
  const existing: ScenarioCounts = { endDevices: 0, programs: 0, defaultControls: 0, controls: 0 };

  const programIds = new Set(admin.listPrograms().map((program) => program.id));
  for (const [index, program] of scenario.programs.entries()) {
    if (programIds.has(program.id)) {
      existing.programs++;
      continue;
    }
    await step(file, `/programs/${index}`, scenario, () =>
      admin.createProgram({
        id: program.id,
        description: program.description,
        primacy: program.primacy,
        ...(program.mRID === undefined ? {} : { mRID: program.mRID.toLowerCase() }),
        ...(program.fsa === undefined ? {} : { fsaId: program.fsa }),
      }),
    );
    programIds.add(program.id);
    created.programs++;
  }
  const requireProgram = (pointer: string, id: string) => {
    if (!programIds.has(id))
      throw referenceError(
        file,
        pointer,
        scenario,
        `names program '${id}', which is neither in programs nor on the server`,
      );
  };

  const devices = new EndDeviceIndex(admin.listEndDevices());
  // Aggregators first: the devices they manage name them.
  const order = [...scenario.endDevices.entries()].sort(
    ([, a], [, b]) => Number(b.role === 'aggregator') - Number(a.role === 'aggregator'),
  );
  for (const [index, device] of order) {
    const known =
      (device.lfdi === undefined ? undefined : devices.find(device.lfdi)) ??
      (device.sfdi === undefined ? undefined : devices.find(device.sfdi));
    if (known !== undefined) {
      existing.endDevices++;
      continue;
    }
    for (const [position, id] of (device.programs ?? []).entries())
      requireProgram(`/endDevices/${index}/programs/${position}`, id);
    const record = await step(file, `/endDevices/${index}`, scenario, () =>
      admin.registerEndDevice({
        ...(device.lfdi === undefined ? {} : { lfdi: device.lfdi.toLowerCase() }),
        ...(device.sfdi === undefined ? {} : { sfdi: device.sfdi }),
        ...(device.pin === undefined ? {} : { pin: device.pin }),
        role: device.role,
        ...(device.aggregator === undefined ? {} : { aggregatorLfdi: device.aggregator.toLowerCase() }),
        ...(device.deviceCategory === undefined
          ? {}
          : {
              deviceCategory:
                typeof device.deviceCategory === 'number'
                  ? device.deviceCategory.toString(16)
                  : device.deviceCategory.toLowerCase(),
            }),
        ...(device.nmi === undefined ? {} : { connectionPointId: device.nmi }),
        ...(device.postRate === undefined ? {} : { postRate: device.postRate }),
        ...(device.programs === undefined ? {} : { programIds: device.programs }),
        ...(device.derCount === undefined ? {} : { derCount: device.derCount }),
        ...(device.enabled === undefined ? {} : { enabled: device.enabled }),
        registeredBy: 'scenario',
      }),
    );
    devices.add(record);
    created.endDevices++;
  }
  const resolveDevice = (pointer: string, ref: EndDeviceRef): EndDeviceRecord => {
    const found = devices.find(ref);
    if (found === undefined)
      throw referenceError(
        file,
        pointer,
        scenario,
        `names EndDevice ${ref}, which is neither in endDevices nor on the server`,
      );
    return found;
  };

  for (const [index, item] of scenario.defaultControls.entries()) {
    const pointer = `/defaultControls/${index}`;
    requireProgram(`${pointer}/program`, item.program);
    const endDeviceId =
      item.endDevice === undefined ? undefined : resolveDevice(`${pointer}/endDevice`, item.endDevice).id;
    const present = admin
      .listDefaultControls(item.program)
      .some((control) => control.programId === item.program && control.endDeviceId === endDeviceId);
    if (present) {
      existing.defaultControls++;
      continue;
    }
    const issues: ConfigIssue[] = [];
    const input: SetDefaultControlInput = {
      programId: item.program,
      ...(endDeviceId === undefined ? {} : { endDeviceId }),
      ...(item.description === undefined ? {} : { description: item.description }),
      base: controlBase(item, pointer, scenario, issues),
    };
    for (const key of [
      'setGradW',
      'setSoftGradW',
      'setESDelay',
      'setESRandomDelay',
      'setESRampTms',
      'setESHighFreq',
      'setESLowFreq',
      'setESHighVolt',
      'setESLowVolt',
    ] as const) {
      const value = item[key];
      if (value !== undefined) input[key] = value;
    }
    if (issues.length > 0) throw configError(file, issues);
    await step(file, pointer, scenario, () => admin.setDefaultControl(input));
    created.defaultControls++;
  }

  for (const [index, control] of scenario.controls.entries()) {
    const pointer = `/controls/${index}`;
    requireProgram(`${pointer}/program`, control.program);
    const mRID = scenarioControlMrid(control, index);
    if (admin.getControl(mRID) !== undefined) {
      existing.controls++;
      continue;
    }
    const endDeviceIds = control.endDevices?.map(
      (ref, position) => resolveDevice(`${pointer}/endDevices/${position}`, ref).id,
    );
    const issues: ConfigIssue[] = [];
    const base = controlBase(control, pointer, scenario, issues);
    if (issues.length > 0) throw configError(file, issues);
    const outcome = await step(file, pointer, scenario, () =>
      admin
        .createControl({
          programId: control.program,
          mRID,
          ...(endDeviceIds === undefined ? {} : { endDeviceIds: [...new Set(endDeviceIds)] }),
          ...(control.description === undefined ? {} : { description: control.description }),
          start: now + control.start,
          duration: control.duration,
          ...(control.randomizeStart === undefined ? {} : { randomizeStart: control.randomizeStart }),
          ...(control.randomizeDuration === undefined ? {} : { randomizeDuration: control.randomizeDuration }),
          ...(control.responseRequired === undefined
            ? {}
            : { responseRequired: control.responseRequired.toLowerCase() }),
          base,
        })
        .then(
          () => 'created' as const,
          (error: unknown) => {
            // With sharedControls off, a control for several EndDevices is stored as one control per
            // EndDevice with mRIDs derived from this one; a conflict then means it was created before.
            if (GridseamError.is(error) && error.code === 'GW_ERR_CONFLICT') return 'existing' as const;
            throw error;
          },
        ),
    );
    if (outcome === 'created') created.controls++;
    else existing.controls++;
  }
  return { created, existing };
}
