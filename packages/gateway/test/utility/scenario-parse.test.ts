import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parseScenario, scaledPower, scenarioControlMrid } from '../../src/utility/scenario.ts';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const LFDI_A = '3e4f45ab31edfe5b67e343e5e4562e31984e23e5';
const LFDI_B = 'AB'.repeat(20);

function refused(text: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseScenario(text, 'lab.yaml'),
    (error: unknown) => {
      const e = error as { code?: string; message?: string };
      assert.equal(e.code, 'GW_ERR_CONFIG', String(error));
      assert.ok(e.message?.startsWith('lab.yaml: '), e.message);
      for (const pattern of patterns) assert.match(e.message ?? '', pattern);
      return true;
    },
  );
}

describe('utility scenario: parsing', () => {
  test('watts become the smallest exact {multiplier, value}; inexact values have none', () => {
    assert.deepEqual(scaledPower(1500), { multiplier: 0, value: 1500 });
    assert.deepEqual(scaledPower(0), { multiplier: 0, value: 0 });
    assert.deepEqual(scaledPower(-32768), { multiplier: 0, value: -32768 });
    assert.equal(scaledPower(32768), undefined);
    assert.deepEqual(scaledPower(32767), { multiplier: 0, value: 32767 });
    assert.deepEqual(scaledPower(100_000), { multiplier: 1, value: 10000 });
    assert.deepEqual(scaledPower(5_000_000), { multiplier: 3, value: 5000 });
    assert.deepEqual(scaledPower(1.5), { multiplier: -1, value: 15 });
    assert.deepEqual(scaledPower(-2.25), { multiplier: -2, value: -225 });
    assert.equal(scaledPower(123_456), undefined);
    assert.equal(scaledPower(0.0001), undefined);
  });

  test('the shipped example scenario parses', async () => {
    const text = await readFile(resolve(repoRoot, 'examples/utility-scenario.yaml'), 'utf8');
    const scenario = parseScenario(text, 'examples/utility-scenario.yaml');
    assert.ok(scenario.endDevices.length > 0);
    assert.ok(scenario.programs.length > 0);
    assert.ok(scenario.controls.length > 0);
  });

  test('defaults and shapes', () => {
    const scenario = parseScenario(
      `endDevices:
  - { lfdi: ${LFDI_B}, pin: 111115 }
  - { sfdi: 1234567895, aggregator: ${LFDI_A}, nmi: '4102345678', deviceCategory: 0c }
programs: [ { id: doe, description: DOE, primacy: 1 } ]
controls: [ { program: doe, duration: 600, opModExpLimW: 1500 } ]
`,
      'lab.yaml',
    );
    assert.equal(scenario.endDevices[0]?.role, 'device');
    assert.equal(scenario.controls[0]?.start, 0);
    assert.deepEqual(scenario.defaultControls, []);
    // Without an id the mRID is derived from the program and position: stable across restarts.
    const control = scenario.controls[0];
    assert.ok(control);
    assert.match(scenarioControlMrid(control, 0), /^[0-9a-f]{32}$/);
    assert.equal(scenarioControlMrid(control, 0), scenarioControlMrid({ ...control }, 0));
    assert.notEqual(scenarioControlMrid(control, 0), scenarioControlMrid(control, 1));
    assert.equal(
      scenarioControlMrid({ ...control, mRID: 'ABCDEF0123456789ABCDEF0123456789' }, 0),
      'abcdef0123456789abcdef0123456789',
    );
  });

  test('errors name the item and what was expected', () => {
    refused('endDevices: [ { pin: 111115 } ]\n', /endDevices\[0\] must have an lfdi or an sfdi/);
    refused(
      `endDevices: [ { lfdi: ${LFDI_A} }, { lfdi: ${LFDI_A.toUpperCase()} } ]\n`,
      /endDevices\[1\]\.lfdi duplicates endDevices\[0\]/,
    );
    refused('endDevices: [ { lfdi: 12345 } ]\n', /endDevices\[0\]\.lfdi must be a string/);
    refused('endDevices: [ { sfdi: -1 } ]\n', /endDevices\[0\]\.sfdi must be >= 0/);
    refused(
      `endDevices: [ { lfdi: ${LFDI_A}, role: boss } ]\n`,
      /endDevices\[0\]\.role must be one of: device, aggregator/,
    );
    refused(
      'endDevices: [ { sfdi: 1, role: aggregator } ]\n',
      /endDevices\[0\] an aggregator must be given by its lfdi/,
    );
    refused(
      `endDevices: [ { lfdi: ${LFDI_A}, pni: 1 } ]\n`,
      /endDevices\[0\]\.pni is not an allowed key \(did you mean 'pin'\?\)/,
    );
    refused('programs: [ { id: DOE, description: x, primacy: 1 } ]\n', /programs\[0\]\.id must match the pattern/);
    refused(
      'programs: [ { id: a, description: x, primacy: 1 }, { id: a, description: y, primacy: 2 } ]\n',
      /programs\[1\]\.id duplicates programs\[0\]\.id 'a'/,
    );
    refused('programs: [ { id: a, description: x, primacy: 256 } ]\n', /programs\[0\]\.primacy must be <= 255/);
    refused('controls: [ { program: a, duration: 60 } ]\n', /controls\[0\] must set at least one control mode/);
    refused('controls: [ { program: a, opModExpLimW: 1 } ]\n', /controls\[0\]\.duration is required/);
    refused(
      'controls: [ { program: a, duration: 60, opModExpLimW: 123456 } ]\n',
      /controls\[0\]\.opModExpLimW cannot be sent exactly/,
    );
    refused('controls: [ { program: a, duration: 60, opModExpLimW: .nan } ]\n', /controls\[0\]\.opModExpLimW/);
    refused('controls: [ { program: a, duration: 60, opModExpLimW: 1e400 } ]\n', /controls\[0\]\.opModExpLimW/);
    refused(
      'controls: [ { program: a, duration: 60, opModMaxLimW: 50.125 } ]\n',
      /controls\[0\]\.opModMaxLimW must be a percentage with at most two decimals/,
    );
    refused(
      'controls: [ { program: a, duration: 60, opModMaxLimW: 150 } ]\n',
      /controls\[0\]\.opModMaxLimW must be <= 100/,
    );
    refused(
      'controls: [ { program: a, duration: 60, opModExportLimW: 5 } ]\n',
      /controls\[0\]\.opModExportLimW is not an allowed key/,
    );
    refused(
      'controls: [ { program: a, duration: 60, opModConnect: 0 } ]\n',
      /controls\[0\]\.opModConnect must be a boolean/,
    );
    refused(
      'controls: [ { program: a, duration: 60, randomizeStart: 7200, opModEnergize: true } ]\n',
      /controls\[0\]\.randomizeStart must be <= 3600/,
    );
    refused(
      'controls: [ { id: x, program: a, duration: 60, opModEnergize: true }, { id: x, program: a, duration: 60, opModEnergize: false } ]\n',
      /controls\[1\]\.id duplicates controls\[0\]\.id 'x'/,
    );
    refused(
      'controls: [ { program: a, duration: 60, opModEnergize: true, endDevices: [ xyz ] } ]\n',
      /controls\[0\]\.endDevices\[0\]/,
    );
    refused(
      'defaultControls: [ { program: a, opModExpLimW: 1 }, { program: a, opModExpLimW: 2 } ]\n',
      /defaultControls\[1\] sets the same default control as defaultControls\[0\]/,
    );
    refused('controls: 5\n', /controls must be a list/);
    refused('[]\n', /the top level must be a mapping with endDevices/);
    refused('endDevice: []\n', /endDevice is not an allowed key \(did you mean 'endDevices'\?\)/);
  });
});
