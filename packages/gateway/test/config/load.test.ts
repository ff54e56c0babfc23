import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  keyPathOf,
  loadConfig,
  MAX_CONFIG_BYTES,
  parseConfig,
  resolveApiTokens,
  sha256Hex,
} from '../../src/config/index.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const temp = useTempDir('gridseam-config-');
const configFile = temp.file;

/** Loads a config that must fail; returns the GW_ERR_CONFIG error. */
async function failure(name: string, text: string): Promise<GridseamError> {
  const path = await configFile(name, text);
  try {
    await loadConfig(path);
  } catch (error) {
    assert.ok(GridseamError.is(error), `expected a GridseamError, got ${String(error)}`);
    assert.equal(error.code, 'GW_ERR_CONFIG');
    assert.ok(error.message.startsWith(`${path}: `), `the message names the file: ${error.message}`);
    return error;
  }
  assert.fail(`${name} was accepted`);
}

const SITE = '{ id: s1, name: Site one }';
const device = (id: string, extra = '') =>
  `{ id: ${id}, siteId: s1, class: battery, adapter: { kind: simulator, address: "sim:${id}" }, capabilities: { controls: [fixedW]${extra} } }`;

describe('loadConfig: the examples', () => {
  test('examples/gateway.yaml loads with its seeded fleet and dev tokens', async () => {
    const { config, file } = await loadConfig(join(repoRoot, 'examples/gateway.yaml'));
    assert.equal(file, join(repoRoot, 'examples/gateway.yaml'));
    assert.deepEqual(config.store, { kind: 'sqlite', path: join(repoRoot, 'data/gridseam.sqlite') });
    assert.deepEqual(config.bus, { kind: 'memory' });
    assert.equal(config.api.host, '127.0.0.1');
    assert.equal(config.api.port, 8080);
    assert.deepEqual(
      config.api.tokens.map((t) => [t.name, t.role]),
      [
        ['dev-viewer', 'viewer'],
        ['dev-operator', 'operator'],
        ['dev-admin', 'admin'],
      ],
    );
    // The published digests are those of the documented development tokens.
    const tokens = resolveApiTokens(config.api.tokens, {});
    for (const token of tokens) assert.equal(token.tokenSha256, sha256Hex(token.name));
    assert.equal(config.fleet.sites.length, 2);
    assert.deepEqual(config.fleet.devices.map((d) => d.class).sort(), [
      'battery',
      'ev-charger',
      'hybrid-inverter',
      'meter',
      'pv-inverter',
    ]);
    assert.ok(
      config.fleet.devices.every((d) => d.enabled === true),
      'enabled defaults to true',
    );
    assert.deepEqual(
      config.fleet.groups.map((g) => g.kind),
      ['group', 'aggregation'],
    );
    assert.equal(config.fleet.devices.find((d) => d.class === 'battery')?.capabilities.storage?.capacityWh, 200000);
  });

  test('examples/gateway.postgres.yaml loads (PostgreSQL and NATS)', async () => {
    const { config } = await loadConfig(join(repoRoot, 'examples/gateway.postgres.yaml'));
    assert.equal(config.store.kind, 'postgres');
    assert.deepEqual(config.bus, { kind: 'nats', servers: ['nats://127.0.0.1:4222'], prefix: 'gridseam' });
    assert.deepEqual(
      config.api.tokens.map((t) => t.tokenEnv),
      ['GRIDSEAM_VIEWER_TOKEN', 'GRIDSEAM_OPERATOR_TOKEN', 'GRIDSEAM_ADMIN_TOKEN'],
    );
  });
});

describe('loadConfig: defaults and paths', () => {
  test('an empty file gets every default; the sqlite path resolves against the config folder', async () => {
    const path = await configFile('empty.yaml', '# nothing but a comment\n');
    const { config } = await loadConfig(path);
    assert.deepEqual(config, {
      store: { kind: 'sqlite', path: join(temp.dir(), 'data/gridseam.sqlite') },
      bus: { kind: 'memory' },
      api: { host: '127.0.0.1', port: 8080, bodyLimitBytes: 1048576, tokens: [], publicMetrics: false },
      telemetry: { retentionDays: 90, batchSize: 5000, flushIntervalMs: 1000 },
      log: { level: 'info', pretty: false },
      fleet: { sites: [], devices: [], groups: [] },
    });
  });

  test('a relative path is relative to the file, not the working directory; absolute and :memory: are kept', () => {
    const file = join(temp.dir(), 'nested', 'gw.yaml');
    assert.deepEqual(parseConfig('store: { kind: sqlite, path: db/x.sqlite }', file).store, {
      kind: 'sqlite',
      path: join(temp.dir(), 'nested', 'db/x.sqlite'),
    });
    assert.deepEqual(parseConfig('store: { kind: sqlite, path: /var/lib/g.sqlite }', file).store, {
      kind: 'sqlite',
      path: '/var/lib/g.sqlite',
    });
    assert.deepEqual(parseConfig("store: { kind: sqlite, path: ':memory:' }", file).store, {
      kind: 'sqlite',
      path: ':memory:',
    });
  });

  test('partial sections keep their other defaults', () => {
    const config = parseConfig(
      'api: { port: 9000 }\ntelemetry: { retentionDays: 7 }\nstore: { kind: sqlite }',
      'x.yaml',
    );
    assert.equal(config.api.port, 9000);
    assert.equal(config.api.host, '127.0.0.1');
    assert.deepEqual(config.telemetry, { retentionDays: 7, batchSize: 5000, flushIntervalMs: 1000 });
  });
});

describe('loadConfig: errors name the file, the key path and what was expected', () => {
  test('wrong type', async () => {
    const error = await failure('type.yaml', 'api:\n  port: eighty\n');
    assert.match(error.message, /: api\.port must be an integer \(got "eighty"\)$/);
    assert.deepEqual(
      error.issues.map((i) => i.path),
      ['/api/port'],
    );
  });

  test('out of range', async () => {
    const error = await failure('range.yaml', 'api:\n  port: 70000\n');
    assert.match(error.message, /: api\.port must be <= 65535$/);
  });

  test('out of range deep in the fleet', async () => {
    const error = await failure(
      'fleet-range.yaml',
      `fleet:\n  sites: [${SITE}]\n  devices:\n    - ${device('d0')}\n    - ${device('d1')}\n    - ${device('d2', ', storage: { capacityWh: 0, maxChargeW: 1, maxDischargeW: 1 }')}\n`,
    );
    assert.match(error.message, /: fleet\.devices\[2\]\.capabilities\.storage\.capacityWh must be > 0$/);
  });

  test('unknown key, with a suggestion for a near miss', async () => {
    const error = await failure('unknown.yaml', 'api:\n  prot: 8080\n');
    assert.match(error.message, /: api\.prot is not an allowed key \(did you mean 'port'\?\)$/);
    const top = await failure('unknown-top.yaml', 'storage: { kind: sqlite }\n');
    assert.match(top.message, /: storage is not an allowed key \(did you mean 'store'\?\)$/);
    const far = await failure('unknown-far.yaml', 'log: { colour: true }\n');
    assert.match(far.message, /: log\.colour is not an allowed key \(allowed: level, pretty\)$/);
  });

  test('missing required keys', async () => {
    const error = await failure('required.yaml', 'store:\n  kind: postgres\n');
    assert.match(error.message, /: store\.url is required$/);
    const token = await failure('required-token.yaml', 'api:\n  tokens:\n    - { name: a, tokenEnv: A }\n');
    assert.match(token.message, /: api\.tokens\[0\]\.role is required$/);
  });

  test('a union reports the branch the document chose, or the kinds there are', async () => {
    const kind = await failure('kind.yaml', 'store: { kind: mysql }\n');
    assert.match(kind.message, /: store\.kind must be one of: sqlite, postgres$/);
    const noKind = await failure('no-kind.yaml', 'bus: { servers: nats://x }\n');
    assert.match(noKind.message, /: bus\.kind is required, and must be one of: memory, nats$/);
    const branch = await failure('branch.yaml', 'store: { kind: sqlite, path: 5 }\n');
    assert.match(branch.message, /: store\.path must be a string \(got 5\)$/);
    const servers = await failure('servers.yaml', 'bus: { kind: nats, servers: 4222 }\n');
    assert.match(servers.message, /: bus\.servers must be a string or a list \(got 4222\)$/);
    const phases = await failure(
      'phases.yaml',
      `fleet:\n  sites: [${SITE}]\n  devices:\n    - ${device('d0', ', ev: { phases: 2 }')}\n`,
    );
    assert.match(phases.message, /: fleet\.devices\[0\]\.capabilities\.ev\.phases must be one of: 1, 3$/);
  });

  test('enum values are listed', async () => {
    const error = await failure('enum.yaml', 'log: { level: verbose }\n');
    assert.match(error.message, /: log\.level must be one of: fatal, error, warn, info, debug, trace, silent$/);
  });

  test('YAML 1.2: yes is a string, not a boolean', async () => {
    const error = await failure('yes.yaml', 'log: { pretty: yes }\n');
    assert.match(error.message, /: log\.pretty must be a boolean \(true or false\) \(got "yes"\)$/);
  });

  test('bad YAML syntax gives the line and column', async () => {
    const error = await failure('syntax.yaml', 'api:\n  port: 8080\n  tokens: [\n');
    assert.match(error.message, /: invalid YAML at line \d+, column \d+: /);
  });

  test('a duplicate key is refused and named by its path and line', async () => {
    const error = await failure('dup.yaml', 'api:\n  port: 8080\n  host: 127.0.0.1\n  port: 9090\n');
    assert.match(error.message, /: api\.port is a duplicate key \(line 4, column 3\)/);
    const deep = await failure(
      'dup-deep.yaml',
      'fleet:\n  sites:\n    - id: a\n      name: A\n    - id: b\n      name: B\n      name: C\n',
    );
    assert.match(deep.message, /: fleet\.sites\[1\]\.name is a duplicate key \(line 7, column 7\)/);
  });

  test('a file over 1 MiB is refused before it is parsed', async () => {
    const error = await failure('big.yaml', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    assert.match(error.message, /the limit is 1048576 bytes/);
  });

  test('an alias expansion bomb is refused', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [name, previous] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
    ])
      levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    const error = await failure('bomb.yaml', `${levels.join('\n')}\n`);
    assert.match(error.message, /invalid YAML: .*alias/i);
  });

  test('ordinary anchors and aliases are fine (one capabilities block shared by many devices)', async () => {
    const devices = Array.from({ length: 30 }, (_, i) =>
      i === 0
        ? `    - { id: d0, siteId: s1, class: battery, adapter: { kind: sim, address: a }, capabilities: &caps { controls: [fixedW], storage: { capacityWh: 1000, maxChargeW: 500, maxDischargeW: 500 } } }`
        : `    - { id: d${i}, siteId: s1, class: battery, adapter: { kind: sim, address: a }, capabilities: *caps }`,
    );
    const path = await configFile('aliases.yaml', `fleet:\n  sites: [${SITE}]\n  devices:\n${devices.join('\n')}\n`);
    const { config } = await loadConfig(path);
    assert.equal(config.fleet.devices.length, 30);
    assert.equal(config.fleet.devices[29]?.capabilities.storage?.capacityWh, 1000);
  });

  test('a missing file says so', async () => {
    const path = join(temp.dir(), 'does-not-exist.yaml');
    await assert.rejects(loadConfig(path), (error: unknown) => {
      assert.ok(GridseamError.is(error));
      assert.equal(error.code, 'GW_ERR_CONFIG');
      assert.equal(error.message, `${path}: cannot read the configuration file (no such file)`);
      return true;
    });
  });

  test('the top level must be a mapping', async () => {
    const error = await failure('list.yaml', '- store\n- bus\n');
    assert.match(error.message, /: the top level must be a mapping/);
  });

  test('several problems are all reported', async () => {
    const error = await failure('many.yaml', 'api: { port: -1, host: "" }\nlog: { level: loud }\n');
    assert.match(error.message, /: 3 problems: /);
    assert.deepEqual(error.issues.map((i) => i.path).sort(), ['/api/host', '/api/port', '/log/level']);
    assert.ok(error.issues.some((i) => i.message === 'api.port must be >= 0'));
    assert.ok(error.issues.some((i) => i.message === 'api.host must not be empty'));
  });
});

describe('loadConfig: rules across fields', () => {
  test('a token needs exactly one of tokenSha256 and tokenEnv; names are unique', async () => {
    const hash = sha256Hex('t');
    const error = await failure(
      'tokens.yaml',
      `api:\n  tokens:\n    - { name: a, role: viewer }\n    - { name: b, role: admin, tokenSha256: ${hash}, tokenEnv: B }\n    - { name: a, role: admin, tokenEnv: C }\n`,
    );
    assert.match(error.message, /api\.tokens\[0\] must have exactly one of tokenSha256/);
    assert.match(error.message, /api\.tokens\[1\] must have exactly one of tokenSha256/);
    assert.match(error.message, /api\.tokens\[2\]\.name duplicates api\.tokens\[0\]\.name 'a'/);
  });

  test('tokenSha256 must be 64 hex digits', async () => {
    const error = await failure('sha.yaml', 'api:\n  tokens:\n    - { name: a, role: viewer, tokenSha256: abc123 }\n');
    assert.match(error.message, /: api\.tokens\[0\]\.tokenSha256 must match the pattern \^\[0-9a-fA-F\]\{64\}\$$/);
  });

  test('devices name a configured site, group members a configured device, ids are unique', async () => {
    const error = await failure(
      'refs.yaml',
      `fleet:\n  sites: [${SITE}, ${SITE}]\n  devices:\n    - ${device('d0').replace('siteId: s1', 'siteId: s9')}\n  groups:\n    - { id: g, name: G, kind: group, members: [d0, d7] }\n`,
    );
    assert.match(error.message, /fleet\.sites\[1\]\.id duplicates fleet\.sites\[0\]\.id 's1'/);
    assert.match(error.message, /fleet\.devices\[0\]\.siteId must name a site in fleet\.sites \(no site 's9'\)/);
    assert.match(
      error.message,
      /fleet\.groups\[0\]\.members\[1\] must name a device in fleet\.devices \(no device 'd7'\)/,
    );
  });

  test("the model's capability rules apply (socMinPct <= socMaxPct)", async () => {
    const error = await failure(
      'soc.yaml',
      `fleet:\n  sites: [${SITE}]\n  devices:\n    - ${device('d0', ', storage: { capacityWh: 1000, maxChargeW: 1, maxDischargeW: 1, socMinPct: 90, socMaxPct: 10 }')}\n`,
    );
    assert.match(error.message, /: fleet\.devices\[0\]\.capabilities\.storage\.socMinPct must not exceed socMaxPct$/);
  });
});

describe('resolveApiTokens', () => {
  test('hashes a tokenEnv secret and lower-cases a given digest', () => {
    const upper = sha256Hex('given').toUpperCase();
    const tokens = resolveApiTokens(
      [
        { name: 'a', role: 'viewer', tokenSha256: upper },
        { name: 'b', role: 'admin', tokenEnv: 'SECRET_B' },
      ],
      { SECRET_B: 's3cret' },
    );
    assert.deepEqual(tokens, [
      { name: 'a', role: 'viewer', tokenSha256: sha256Hex('given') },
      { name: 'b', role: 'admin', tokenSha256: sha256Hex('s3cret') },
    ]);
  });

  test('a missing or empty variable is a config error naming the key and the variable', () => {
    for (const env of [{}, { SECRET_B: '' }])
      assert.throws(
        () => resolveApiTokens([{ name: 'b', role: 'admin', tokenEnv: 'SECRET_B' }], env),
        (error: unknown) =>
          GridseamError.is(error) &&
          error.code === 'GW_ERR_CONFIG' &&
          /api\.tokens\[0\]\.tokenEnv: the environment variable SECRET_B \(token 'b'\) is not set/.test(error.message),
      );
  });
});

describe('keyPathOf', () => {
  test('arrays print as [i], odd keys quoted', () => {
    const root = { fleet: { devices: [{}, { labels: { 'my key': 'x', '0': 'y' } }] } };
    assert.equal(keyPathOf('/fleet/devices/1/labels/my key', root), 'fleet.devices[1].labels["my key"]');
    assert.equal(keyPathOf('/fleet/devices/1/labels/0', root), 'fleet.devices[1].labels["0"]');
    assert.equal(keyPathOf('/a~1b/c~0d', {}), '["a/b"]["c~d"]');
    assert.equal(keyPathOf('', root), '(top level)');
  });
});
