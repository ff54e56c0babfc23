/**
 * `gridseam sunspec scan|set`: talk to one SunSpec Modbus TCP device from the command line (a stable
 * interface; issue 3 "CLI"). The SunSpec package loads only when one of these commands runs.
 *
 * scan --json prints ONE JSON object: {"models":[{"id","name","start","length","points","groups"}]}
 * where start is the register of the model's ID point, points hold scaled numbers, trimmed strings or
 * null (unimplemented), scale-factor points keep their raw value, and 64-bit integers beyond 2^53
 * print as strings. Exit codes: 0 ok; 1 the device failed or a read-back differs; 2 usage errors
 * (unknown model or point, read-only point, value out of range).
 */

import { GridseamError } from '@gridseam/model';
import type { DecodedGroup, DecodedModel, ModelDef, PointDef, PointValue } from '@gridseam/sunspec';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from './main.ts';
import { formatTable } from './output.ts';

interface ConnectionOptions {
  host: string;
  port: number;
  unit: number;
  timeout: number;
  base?: number;
}

function integerOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return Number(value);
  };
}

function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

function usage(message: string, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, cause === undefined ? {} : { cause });
}

function withConnectionOptions(command: Command): Command {
  return command
    .requiredOption('--host <host>', 'device or Modbus gateway address')
    .requiredOption('--port <port>', 'Modbus TCP port', integerOption('--port', 1, 65535))
    .option('--unit <id>', 'Modbus unit id', integerOption('--unit', 0, 255), 1)
    .option('--timeout <ms>', 'time to wait for each response', integerOption('--timeout', 1, 60000), 1000)
    .option(
      '--base <address>',
      'SunSpec base address (default: try 40000, 0, 50000)',
      integerOption('--base', 0, 65535),
    );
}

/** JSON for decoded values: a bigint is a number when it is exact, else a string. */
function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

interface ScanModelJson {
  id: number;
  name: string;
  start: number;
  length: number;
  points: Record<string, PointValue>;
  groups: Record<string, DecodedGroup[]>;
}

function groupJson(group: DecodedGroup): DecodedGroup {
  const groups: Record<string, DecodedGroup[]> = {};
  for (const [name, instances] of Object.entries(group.groups)) groups[name] = instances.map(groupJson);
  return { points: { ...group.points }, groups };
}

/** Units and symbols of every point of a definition, by dotted path without indices ('PFWInj.PF'). */
function pointDefs(def: ModelDef | undefined): Map<string, PointDef> {
  const defs = new Map<string, PointDef>();
  const walk = (group: ModelDef['group'], prefix: string) => {
    for (const point of group.points) defs.set(`${prefix}${point.name}`, point);
    for (const child of group.groups ?? []) walk(child, `${prefix}${child.name}.`);
  };
  if (def) walk(def.group, '');
  return defs;
}

function displayValue(value: PointValue, point: PointDef | undefined): string {
  if (value === null) return '-';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  const symbol =
    point && (point.type === 'enum16' || point.type === 'enum32')
      ? point.symbols?.find((s) => s.value === value)?.name
      : undefined;
  return symbol ? `${value} (${symbol})` : String(value);
}

/** Rows of one model for the table: repeated groups as Name[i], single ones as Name. */
function tableRows(model: DecodedModel, def: ModelDef | undefined): string[][] {
  const defs = pointDefs(def);
  const rows: string[][] = [];
  const walk = (group: DecodedGroup, path: string, defPath: string) => {
    for (const [name, value] of Object.entries(group.points)) {
      const point = defs.get(`${defPath}${name}`);
      rows.push([`${path}${name}`, displayValue(value, point), point?.units ?? '']);
    }
    for (const [name, instances] of Object.entries(group.groups)) {
      instances.forEach((instance, index) => {
        const label = instances.length === 1 ? name : `${name}[${index}]`;
        walk(instance, `${path}${label}.`, `${defPath}${name}.`);
      });
    }
  };
  walk(model, '', '');
  return rows;
}

/** Parses MODEL.POINT=VALUE. */
function parseAssignment(text: string): { modelId: number; path: string; raw: string } {
  const match = /^(\d+)\.([^=\s]+)=(.*)$/.exec(text);
  if (!match) throw usage(`'${text}' is not MODEL.POINT=VALUE (e.g. 704.WMaxLimPct=50 or 704.PFWInj.PF=0.95)`);
  return { modelId: Number(match[1]), path: match[2]!, raw: match[3]! };
}

/** The value to encode: text for string points, an enum symbol's value by name, else a finite number. */
function parseValue(raw: string, point: PointDef, label: string): PointValue {
  if (point.type === 'string') return raw;
  const symbol = point.symbols?.find((s) => s.name === raw);
  if (symbol) return symbol.value;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value))
    throw usage(
      `${label}: '${raw}' is not a number${point.symbols ? ` or one of ${point.symbols.map((s) => s.name).join(', ')}` : ''}`,
    );
  return value;
}

/** Half a step of the point's scaling: what a read-back may differ by after rounding. */
function tolerance(point: PointDef, sf: number | null | undefined, written: number): number {
  if (typeof sf === 'number') return 10 ** sf / 2 + 1e-9;
  if (point.type === 'float32' || point.type === 'float64') return Math.max(1e-9, Math.abs(written) * 1e-6);
  return 0;
}

function sameValue(written: PointValue, read: PointValue, point: PointDef, sf: number | null | undefined): boolean {
  if (written === null || read === null) return written === read;
  if (typeof written === 'string' || typeof read === 'string') return String(written).trim() === String(read).trim();
  const w = Number(written);
  const r = Number(read);
  return Math.abs(w - r) <= tolerance(point, sf, w);
}

export function registerSunSpecCommands(program: Command, io: CliIo): void {
  const sunspec = program.command('sunspec').description('read and write a SunSpec Modbus TCP device');

  withConnectionOptions(
    sunspec
      .command('scan')
      .description('discover the SunSpec models of a device and decode every one')
      .option('--json', 'print one JSON object {"models":[...]} instead of tables'),
  ).action(async (options: ConnectionOptions & { json?: boolean }) => {
    const lib = await import('@gridseam/sunspec');
    const transport = await lib.openModbusTcp({ host: options.host, port: options.port, timeoutMs: options.timeout });
    try {
      const scan = await lib.scanSunSpec(transport, options.unit, {
        ...(options.base !== undefined ? { bases: [options.base] } : {}),
      });
      const decoded = await lib.readModels(transport, options.unit, scan);
      const byStart = new Map(decoded.map((m) => [m.start, m]));
      for (const warning of [...scan.warnings, ...decoded.flatMap((m) => m.warnings.map((w) => `model ${m.id}: ${w}`))])
        write(io.stderr, `warning: ${warning}`);
      const models: ScanModelJson[] = scan.models.map((m) => {
        const model = byStart.get(m.start);
        if (!model) return { id: m.id, name: 'unknown', start: m.start, length: m.length, points: {}, groups: {} };
        const { points, groups } = groupJson(model);
        return { id: model.id, name: model.name, start: model.start, length: model.length, points, groups };
      });
      if (options.json) {
        write(io.stdout, JSON.stringify({ models }, jsonValue));
        return;
      }
      const sections = [
        `SunSpec device ${options.host}:${options.port} unit ${options.unit}: base ${scan.base}, ${models.length} model(s)` +
          (scan.endMarker ? '' : ' (no end marker)'),
      ];
      for (const model of models) {
        const decodedModel = byStart.get(model.start);
        const heading = `model ${model.id} ${model.name}: start ${model.start}, length ${model.length}`;
        sections.push(
          decodedModel
            ? `${heading}\n${formatTable(['point', 'value', 'units'], tableRows(decodedModel, lib.getModelDefinition(model.id)))}`
            : `${heading}\n(no definition for this model: not decoded)`,
        );
      }
      write(io.stdout, sections.join('\n\n'));
    } finally {
      await transport.close();
    }
  });

  withConnectionOptions(
    sunspec
      .command('set')
      .description('write points (scaled), read them back and print the confirmed values')
      .argument('<assignments...>', 'MODEL.POINT=VALUE, e.g. 704.WMaxLimPct=50 704.PFWInj.PF=0.95'),
  ).action(async (texts: string[], options: ConnectionOptions) => {
    const assignments = texts.map(parseAssignment);
    const lib = await import('@gridseam/sunspec');
    const transport = await lib.openModbusTcp({ host: options.host, port: options.port, timeoutMs: options.timeout });
    try {
      const scan = await lib.scanSunSpec(transport, options.unit, {
        ...(options.base !== undefined ? { bases: [options.base] } : {}),
      });
      const present = [...new Set(scan.models.map((m) => m.id))];
      const ids = [...new Set(assignments.map((a) => a.modelId))];
      for (const id of ids) {
        if (!present.includes(id)) throw usage(`model ${id} is not on the device (models: ${present.join(', ')})`);
        if (!lib.getModelDefinition(id)) throw usage(`model ${id} has no definition: its points cannot be named`);
      }
      const modelOf = (models: readonly DecodedModel[], id: number): DecodedModel => {
        // A model that appears twice (e.g. two 160 blocks) is addressed by its first instance.
        const model = models.find((m) => m.id === id);
        if (!model) throw new GridseamError('GW_ERR_DEVICE_PROTOCOL', `model ${id} could not be read`);
        return model;
      };
      let current = await lib.readModels(transport, options.unit, scan, { ids });

      // Everything is encoded (checked) before anything is written: a usage error writes nothing.
      const planned = assignments.map((a) => {
        const def = lib.getModelDefinition(a.modelId) as ModelDef;
        const label = `${a.modelId}.${a.path}`;
        try {
          const location = lib.pointAt(def, modelOf(current, a.modelId), a.path);
          const value = parseValue(a.raw, location.point, label);
          lib.encodePointWrite(def, modelOf(current, a.modelId), a.path, value);
          return { ...a, def, label, value, path: location.path };
        } catch (error) {
          if (GridseamError.is(error) && (error.code === 'GW_ERR_VALIDATION' || error.code === 'GW_ERR_NOT_SUPPORTED'))
            throw usage(error.message, error);
          throw error;
        }
      });

      for (const [index, item] of planned.entries()) {
        // Re-encoded against the latest read: a sync group is written whole, so an earlier write
        // to the same group must be in the values it carries.
        const model = modelOf(current, item.modelId);
        const encoded = lib.encodePointWrite(item.def, model, item.path, item.value);
        await transport.writeRegisters(options.unit, model.start + encoded.offset, encoded.registers);
        if (planned.slice(index + 1).some((next) => next.modelId === item.modelId))
          current = await lib.readModels(transport, options.unit, scan, { ids });
      }

      const after = await lib.readModels(transport, options.unit, scan, { ids });
      const rows: string[][] = [];
      const mismatches: string[] = [];
      for (const item of planned) {
        const location = lib.pointAt(item.def, modelOf(after, item.modelId), item.path);
        const ok = sameValue(item.value, location.value, location.point, location.sf);
        const read = displayValue(location.value, location.point);
        rows.push([
          `${item.modelId}.${location.path}`,
          read,
          location.point.units ?? '',
          ok ? 'confirmed' : `DIFFERS (wrote ${item.raw})`,
        ]);
        if (!ok) mismatches.push(`${item.modelId}.${location.path} wrote ${item.raw}, reads ${read}`);
      }
      write(io.stdout, formatTable(['point', 'value', 'units', 'status'], rows));
      if (mismatches.length > 0)
        throw new GridseamError('GW_ERR_DEVICE_REJECTED', `the read-back differs: ${mismatches.join('; ')}`);
    } finally {
      await transport.close();
    }
  });
}
