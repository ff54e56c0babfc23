import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkCapabilities, Device, GridseamError, Site, type ValidationIssue } from '@gridseam/model';
import { Ajv, type ValidateFunction } from 'ajv';
import Type, { type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { isCollection, isPair, isScalar, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { resolveDispatchPaths } from './dispatch.ts';
import { type ConfigIssue, issuesFromAjv, keyPathOf } from './issues.ts';
import { ocppIssues, resolveOcppPaths } from './ocpp.ts';
import { openadr2bIssues, openadr3Issues, resolveOpenadr2bPaths, resolveOpenadr3Paths } from './openadr.ts';
import { buildConfigSchema, FleetGroup, type GatewayConfig } from './schema.ts';
import { knownTimeZone } from './settlement.ts';
import { sunspecIssues } from './sunspec.ts';
import { resolveUtilityPaths, utilityIssues } from './utility.ts';

/** Largest configuration file accepted; a bigger one is a mistake (or an attack), not a config. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/**
 * Aliases a document may expand. A few shared anchors (one capabilities block for many devices)
 * are fine; the limit stops exponential "billion laughs" expansion.
 */
export const MAX_ALIAS_COUNT = 50;
/** How many problems one error message lists before it says "and N more". */
const MAX_LISTED_ISSUES = 10;

/** A loaded configuration and where it came from. */
export interface LoadedConfig {
  config: GatewayConfig;
  /** The file as it was named. */
  file: string;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false });
// The outer structure only; fleet items are checked by the model's own rules below.
const shellValidator = ajv.compile(buildConfigSchema(Type.Unknown(), Type.Unknown(), Type.Unknown()));
const fullSchema: TSchema = buildConfigSchema(Site, Device, FleetGroup);

/** Compiles a model schema without its $id, so it is only ever registered under that name by the model. */
function compileItem(schema: TSchema): ValidateFunction {
  const { $id: _id, ...rest } = schema as TSchema & { $id?: string };
  return ajv.compile(rest);
}
const itemValidators = {
  sites: compileItem(Site),
  devices: compileItem(Device),
  groups: compileItem(FleetGroup),
};

export function configError(file: string, issues: readonly ConfigIssue[]): GridseamError {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `${i.keyPath} ${i.message}`);
  const more = issues.length > MAX_LISTED_ISSUES ? `; and ${issues.length - MAX_LISTED_ISSUES} more` : '';
  const summary = issues.length === 1 ? listed[0] : `${issues.length} problems: ${listed.join('; ')}${more}`;
  return new GridseamError('GW_ERR_CONFIG', `${file}: ${summary}`, {
    issues: issues.map<ValidationIssue>((i) => ({ path: i.path, message: `${i.keyPath} ${i.message}` })),
  });
}

/** Reads, parses, defaults and validates a configuration file. Throws GW_ERR_CONFIG naming the file and key. */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  // Messages name the file as the user wrote it; relative paths inside resolve against its folder.
  const file = path;
  return { config: parseConfig(await readConfigText(file), file), file };
}

/**
 * Reads a YAML file of at most MAX_CONFIG_BYTES as text; every failure is GW_ERR_CONFIG naming the
 * file. `what` names the file in messages ('configuration file', 'scenario file').
 */
export async function readConfigText(file: string, what = 'configuration file'): Promise<string> {
  let size: number;
  try {
    const stats = await stat(file);
    if (!stats.isFile()) throw new GridseamError('GW_ERR_CONFIG', `${file}: is not a file`);
    size = stats.size;
  } catch (error) {
    if (GridseamError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new GridseamError('GW_ERR_CONFIG', `${file}: cannot read the ${what} (${reason})`, {
      cause: error,
    });
  }
  if (size > MAX_CONFIG_BYTES)
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `${file}: the ${what} is ${size} bytes; the limit is ${MAX_CONFIG_BYTES} bytes (1 MiB)`,
    );
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new GridseamError('GW_ERR_CONFIG', `${file}: cannot read the ${what} (${String(error)})`, {
      cause: error,
    });
  }
}

/**
 * Parses configuration text. `file` names the source in messages and anchors relative paths
 * (its folder is the base for a relative sqlite path).
 */
export function parseConfig(text: string, file: string): GatewayConfig {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES)
    throw new GridseamError(
      'GW_ERR_CONFIG',
      `${file}: the configuration is larger than ${MAX_CONFIG_BYTES} bytes (1 MiB)`,
    );
  return parseConfigObject(parseYaml(text, file), file);
}

/**
 * Defaults and validates a configuration built in code (`gridseam demo`) exactly as a file's is, with
 * the same messages; `file` names it in them and anchors relative paths. No size limit: the caller
 * is not an untrusted file.
 */
export function parseConfigObject(raw: Record<string, unknown>, file: string): GatewayConfig {
  const config = Value.Default(fullSchema, structuredClone(raw));
  validate(config, file);
  return resolvePaths(config as GatewayConfig, dirname(resolve(file)));
}

/**
 * Parses YAML text under the limits every gridseam YAML file shares (core schema, unique keys, no
 * merge keys, MAX_ALIAS_COUNT aliases) into its top-level mapping; `topLevel` says what that
 * mapping should hold, for the error when it is something else.
 */
export function parseYaml(
  text: string,
  file: string,
  topLevel = 'a mapping of sections (store, bus, api, ...)',
): Record<string, unknown> {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: no implicit yes/no booleans, no merge keys, no custom tags.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter, schema: 'core', merge: false });
  const first = doc.errors[0];
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    const where = `line ${line}, column ${col}`;
    if (first.code === 'DUPLICATE_KEY') {
      const keyPath = keyPathAt(doc.contents, first.pos[0]);
      throw new GridseamError(
        'GW_ERR_CONFIG',
        `${file}: ${keyPath ? `${keyPath} ` : ''}is a duplicate key (${where}); each key may appear once in a mapping`,
      );
    }
    throw new GridseamError('GW_ERR_CONFIG', `${file}: invalid YAML at ${where}: ${firstLine(first.message)}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const reason = error instanceof Error ? firstLine(error.message) : String(error);
    throw new GridseamError('GW_ERR_CONFIG', `${file}: invalid YAML: ${reason}`, { cause: error });
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new GridseamError('GW_ERR_CONFIG', `${file}: the top level must be ${topLevel}`);
  return value as Record<string, unknown>;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** The key path of the mapping key at a source offset (used to name a duplicate key). */
function keyPathAt(root: Node | null, offset: number): string | undefined {
  if (!root) return undefined;
  let found: string | undefined;
  visit(root, {
    Pair(_key, pair, path) {
      if (found !== undefined) return visit.BREAK;
      const keyNode = pair.key;
      if (!isScalar(keyNode) || !keyNode.range || keyNode.range[0] !== offset) return undefined;
      const parts: string[] = [];
      for (let i = 0; i < path.length; i++) {
        const item = path[i];
        const child = path[i + 1] ?? pair;
        if (isPair(item) && isScalar(item.key)) parts.push(`.${String(item.key.value)}`);
        else if (isCollection(item) && !isPair(child) && Array.isArray(item.items))
          parts.push(`[${(item.items as unknown[]).indexOf(child)}]`);
      }
      parts.push(`.${String(keyNode.value)}`);
      found = parts.join('').replace(/^\./, '');
      return visit.BREAK;
    },
  });
  return found;
}

function validate(config: unknown, file: string): void {
  const issues: ConfigIssue[] = [];
  if (!shellValidator(config)) issues.push(...issuesFromAjv(shellValidator.errors ?? [], config));
  const fleet = (config as { fleet?: unknown }).fleet;
  if (typeof fleet === 'object' && fleet !== null)
    issues.push(...fleetIssues(fleet as Record<string, unknown>, config));
  issues.push(...tokenIssues(config));
  issues.push(...sunspecIssues(config));
  issues.push(...utilityIssues(config));
  issues.push(...openadr3Issues(config));
  issues.push(...openadr2bIssues(config));
  issues.push(...ocppIssues(config));
  issues.push(...settlementIssues(config));
  if (issues.length > 0) throw configError(file, issues);
}

function withPrefix(prefix: string, modelIssues: readonly ValidationIssue[], root: unknown): ConfigIssue[] {
  return modelIssues.map((issue) => {
    const path = `${prefix}${issue.path === '/' ? '' : issue.path}`;
    return { path, keyPath: keyPathOf(path, root), message: issue.message };
  });
}

/** Fleet items against the model's schemas, then the device capability rules across fields. */
function itemIssues(section: keyof typeof itemValidators, items: unknown, root: unknown): ConfigIssue[] {
  if (!Array.isArray(items)) return [];
  const validator = itemValidators[section];
  const issues: ConfigIssue[] = [];
  items.forEach((item, index) => {
    const prefix = `/fleet/${section}/${index}`;
    if (!validator(item)) {
      const errors = (validator.errors ?? []).map((e) => ({ ...e, instancePath: `${prefix}${e.instancePath}` }));
      issues.push(...issuesFromAjv(errors, root));
    } else if (section === 'devices') {
      issues.push(...withPrefix(prefix, checkCapabilities((item as Device).capabilities, '/capabilities'), root));
    }
  });
  return issues;
}

function idsOf(items: unknown): Map<string, number> {
  const ids = new Map<string, number>();
  if (!Array.isArray(items)) return ids;
  items.forEach((item, index) => {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && !ids.has(id)) ids.set(id, index);
  });
  return ids;
}

/** Fleet items against the model, then the references between them (unique ids, known sites and devices). */
function fleetIssues(fleet: Record<string, unknown>, root: unknown): ConfigIssue[] {
  const issues = [
    ...itemIssues('sites', fleet.sites, root),
    ...itemIssues('devices', fleet.devices, root),
    ...itemIssues('groups', fleet.groups, root),
  ];
  const at = (path: string, message: string) => issues.push({ path, keyPath: keyPathOf(path, root), message });
  for (const section of ['sites', 'devices', 'groups'] as const) {
    const items = fleet[section];
    if (!Array.isArray(items)) continue;
    const firstIndex = idsOf(items);
    items.forEach((item, index) => {
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id === 'string' && firstIndex.get(id) !== index)
        at(`/fleet/${section}/${index}/id`, `duplicates fleet.${section}[${firstIndex.get(id)}].id '${id}'`);
    });
  }
  const siteIds = idsOf(fleet.sites);
  const deviceIds = idsOf(fleet.devices);
  if (Array.isArray(fleet.devices))
    fleet.devices.forEach((device, index) => {
      const siteId = (device as { siteId?: unknown } | null)?.siteId;
      if (typeof siteId === 'string' && !siteIds.has(siteId))
        at(`/fleet/devices/${index}/siteId`, `must name a site in fleet.sites (no site '${siteId}')`);
    });
  if (Array.isArray(fleet.groups))
    fleet.groups.forEach((group, index) => {
      const members = (group as { members?: unknown } | null)?.members;
      if (!Array.isArray(members)) return;
      members.forEach((member, memberIndex) => {
        if (typeof member === 'string' && !deviceIds.has(member))
          at(
            `/fleet/groups/${index}/members/${memberIndex}`,
            `must name a device in fleet.devices (no device '${member}')`,
          );
      });
    });
  return issues;
}

/** Each token has exactly one way to its secret, and names are unique (the audit log records them). */
function settlementIssues(config: unknown): ConfigIssue[] {
  const timeZone = (config as { settlement?: { timeZone?: unknown } }).settlement?.timeZone;
  if (typeof timeZone !== 'string' || knownTimeZone(timeZone)) return [];
  const path = '/settlement/timeZone';
  return [
    {
      path,
      keyPath: keyPathOf(path, config),
      message: `must be an IANA time zone this runtime knows (got ${JSON.stringify(timeZone)})`,
    },
  ];
}

function tokenIssues(config: unknown): ConfigIssue[] {
  const tokens = (config as { api?: { tokens?: unknown } }).api?.tokens;
  if (!Array.isArray(tokens)) return [];
  const issues: ConfigIssue[] = [];
  const names = new Map<string, number>();
  tokens.forEach((token, index) => {
    if (typeof token !== 'object' || token === null) return;
    const { name, tokenSha256, tokenEnv } = token as Record<string, unknown>;
    const path = `/api/tokens/${index}`;
    if ((tokenSha256 === undefined) === (tokenEnv === undefined))
      issues.push({
        path,
        keyPath: keyPathOf(path, config),
        message:
          'must have exactly one of tokenSha256 (the SHA-256 hex digest of the token) or tokenEnv (an environment variable holding it)',
      });
    if (typeof name === 'string') {
      const first = names.get(name);
      if (first !== undefined)
        issues.push({
          path: `${path}/name`,
          keyPath: keyPathOf(`${path}/name`, config),
          message: `duplicates api.tokens[${first}].name '${name}'`,
        });
      else names.set(name, index);
    }
  });
  return issues;
}

/** Relative sqlite paths are relative to the config file, not to wherever the process was started. */
function resolvePaths(loaded: GatewayConfig, baseDir: string): GatewayConfig {
  const resolved = resolveUtilityPaths(loaded.utility, baseDir);
  const openadr2b = resolveOpenadr2bPaths(resolved?.openadr2b, baseDir);
  const openadr3 = resolveOpenadr3Paths(resolved?.openadr3, baseDir);
  const utility =
    resolved === undefined
      ? resolved
      : {
          ...resolved,
          ...(openadr2b === undefined ? {} : { openadr2b }),
          ...(openadr3 === undefined ? {} : { openadr3 }),
        };
  const withUtility = utility === undefined ? loaded : { ...loaded, utility };
  const ocpp = resolveOcppPaths(withUtility.ocpp, baseDir);
  const withOcpp = ocpp === undefined ? withUtility : { ...withUtility, ocpp };
  const dispatch = resolveDispatchPaths(withOcpp.dispatch, baseDir);
  const config = dispatch === undefined ? withOcpp : { ...withOcpp, dispatch };
  if (config.store.kind !== 'sqlite') return config;
  const path = config.store.path;
  if (path === ':memory:' || path.startsWith('file:') || isAbsolute(path)) return config;
  return { ...config, store: { ...config.store, path: resolve(baseDir, path) } };
}
