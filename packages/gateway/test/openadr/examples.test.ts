/**
 * The documented OpenADR examples never rot: examples/gateway-openadr3.yaml loads with loadConfig, names
 * the VTN of examples/openadr-vtn.yaml (address, base path, version, VEN client, secret variable) and the
 * simulator of its header; its commented 2.0b section loads once uncommented; and the two configs run
 * together on loopback (ports made free, stores in a temp folder): the gateway's VEN logs in with the
 * example's client and registers its ven and resource at the example's VTN.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SunSpecSimulator } from '@gridseam/sunspec';
import { type Gateway, startGateway } from '../../src/app.ts';
import { type GatewayConfig, loadConfig } from '../../src/config/index.ts';
import { createLogger } from '../../src/log.ts';
import { parseVtnConfig, type RunningOpenAdrVtn, startOpenAdrVtn, type VtnConfig } from '../../src/openadr/vtn.ts';
import { repoRoot } from '../cli/helpers.ts';
import { useTempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../seams/support.ts';

const GATEWAY_EXAMPLE = join(repoRoot, 'examples/gateway-openadr3.yaml');
const VTN_EXAMPLE = join(repoRoot, 'examples/openadr-vtn.yaml');
/** What the examples' headers tell the user to export. */
const ENV = {
  VTN_TOKEN_SECRET: 'examples-test-token-secret-0123456789abcdef',
  VTN_BL_SECRET: 'bl-operator-secret',
  VTN_VEN1_SECRET: 'ven-site-1-secret',
};

async function vtnExample(): Promise<VtnConfig> {
  return parseVtnConfig(await readFile(VTN_EXAMPLE, 'utf8'), VTN_EXAMPLE);
}

/** The example with its commented `openadr2b:` block (and everything after it) uncommented once. */
function uncommented2b(text: string): string {
  const lines = text.split('\n');
  const start = lines.indexOf('  # openadr2b:');
  assert.ok(start > 0, 'the example has a commented openadr2b section');
  return [...lines.slice(0, start), ...lines.slice(start).map((line) => line.replace(/^ {2}# ?/, '  '))].join('\n');
}

describe('examples/gateway-openadr3.yaml', () => {
  const temp = useTempDir('gridseam-oadr-examples-');

  test('loads, and names the example VTN, its VEN client and the simulator of its header', async () => {
    const { config } = await loadConfig(GATEWAY_EXAMPLE);
    const section = config.utility?.openadr3;
    assert.ok(section);
    const vtn = await vtnExample();
    const basePath = vtn.basePath ?? `/openadr3/${vtn.version}`;
    assert.equal(section.vtnUrl, `http://${vtn.listen.host}:${vtn.listen.port}${basePath}`);
    assert.equal(section.version, vtn.version);
    const client = vtn.auth.clients.find((c) => c.clientId === section.clientId);
    assert.ok(client, `the VTN has a client ${section.clientId}`);
    assert.equal(client.role, 'ven');
    assert.equal(client.venName, section.venName);
    assert.equal(client.secretEnv, section.clientSecretEnv, 'one exported variable serves both');
    assert.deepEqual(Object.keys(section.programs), ['DOE', 'PEAK']);
    assert.deepEqual(section.resources, [{ resourceName: 'site-1', siteId: 'site-1' }]);

    const text = await readFile(GATEWAY_EXAMPLE, 'utf8');
    for (const command of [
      'npx gridseam openadr vtn --config examples/openadr-vtn.yaml',
      'npx gridseam sim sunspec --port 1502 --profile pv-inverter,battery,meter --count 3',
      'npx gridseam run --config examples/gateway-openadr3.yaml',
    ])
      assert.ok(text.includes(command), `the header has: ${command}`);
    for (const name of Object.keys(ENV)) assert.ok(text.includes(name), `the header exports ${name}`);
    assert.deepEqual(
      config.sunspec?.devices.map((d) => [d.id, d.port, d.unit]),
      [
        ['pv-1', 1502, 1],
        ['bat-1', 1502, 2],
        ['meter-1', 1502, 3],
      ],
    );
  });

  test('its commented OpenADR 2.0b section loads once uncommented', async () => {
    const file = join(temp.dir(), 'gateway-openadr2b.yaml');
    await writeFile(file, uncommented2b(await readFile(GATEWAY_EXAMPLE, 'utf8')));
    const { config } = await loadConfig(file);
    const section = config.utility?.openadr2b;
    assert.ok(section, 'the openadr2b section is there');
    assert.equal(section.vtnUrl, 'https://vtn.example.com:8443');
    assert.equal(section.certificate, join(temp.dir(), '..', 'data', 'oadr2b', 'ven.cert.pem'));
    assert.equal(section.programs[0]?.primacy, 20);
    assert.deepEqual(section.programs[0]?.simpleLevels?.['2'], [
      { kind: 'exportLimit', value: 0 },
      { kind: 'importLimit', value: 4000 },
    ]);
    assert.deepEqual(section.reports?.siteIds, ['site-1']);
    assert.ok(config.utility?.openadr3, 'both VENs in one gateway');
  });

  describe('runs against the example VTN', () => {
    let running: RunningOpenAdrVtn | undefined;
    let simulator: SunSpecSimulator | undefined;
    let gateway: Gateway | undefined;
    after(async () => {
      await gateway?.close();
      await simulator?.stop();
      await running?.close();
    });

    test("the VEN logs in with the example's client and registers its ven and resource", async () => {
      const vtnConfig = await vtnExample();
      running = await startOpenAdrVtn(
        {
          ...vtnConfig,
          listen: { ...vtnConfig.listen, port: 0 },
          store: { kind: 'sqlite', path: join(temp.dir(), 'vtn.db') },
        },
        { env: ENV, configFile: VTN_EXAMPLE },
      );
      simulator = new SunSpecSimulator({ port: 0, profile: 'pv-inverter,battery,meter', count: 3 });
      const { port } = await simulator.start();
      const { config: example } = await loadConfig(GATEWAY_EXAMPLE);
      const section = example.utility?.openadr3;
      assert.ok(section?.callback);
      const config: GatewayConfig = {
        ...example,
        store: { kind: 'sqlite', path: join(temp.dir(), 'gateway.sqlite') },
        api: { ...example.api, port: 0 },
        log: { ...example.log, level: 'silent' },
        sunspec: example.sunspec && {
          ...example.sunspec,
          devices: example.sunspec.devices.map((d) => ({ ...d, port })),
        },
        utility: {
          ...example.utility,
          openadr3: { ...section, vtnUrl: running.url, callback: { ...section.callback, port: 0 } },
        },
      };
      gateway = await startGateway(config, { logger: createLogger({ level: 'silent' }), env: ENV });
      const status = gateway.openadr3?.ven.status();
      assert.ok(status?.online, 'the VTN answered the VEN');
      const vtn = running.vtn;
      const ven = await waitFor(() => vtn.objects('ven').find((v) => v.venName === 'site-1'), 'the ven at the VTN');
      assert.equal(ven.id, status?.venId);
      assert.deepEqual(
        vtn.objects('resource').map((r) => r.resourceName),
        ['site-1'],
      );
      assert.ok(
        vtn.objects('subscription').some((s) => String(s.clientName) === 'site-1'),
        'the webhook subscription',
      );
    });
  });
});
