/**
 * The demo summary's arithmetic: energy from sampled power in simulated Wh, percentiles,
 * compliance samples, command outcomes and the lag to a confirmed setpoint.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from '@gridseam/model';
import { ComplianceTally, commandOutcome, confirmationLag, heldEnergyWh, percentile } from '../../src/demo/measure.ts';

describe('heldEnergyWh', () => {
  test('each sample holds until the next, clipped to the window, scaled to simulated hours', () => {
    // 1000 W for 3.6 real seconds at x1000 = one simulated hour = 1000 Wh.
    const samples = [
      { at: 0, value: 1000 },
      { at: 3600, value: 0 },
    ];
    assert.equal(heldEnergyWh(samples, { fromMs: 0, toMs: 10_000 }, { speed: 1000, maxHoldMs: 60_000 }), 1000);
    // A sample before the window counts from the window's start; the window's end clips.
    const before = [{ at: -5000, value: 2000 }];
    assert.equal(heldEnergyWh(before, { fromMs: 0, toMs: 1800 }, { speed: 1000, maxHoldMs: 60_000 }), 1000);
  });

  test('a sample holds at most maxHoldMs (a device that stopped answering adds nothing after)', () => {
    const samples = [{ at: 0, value: 3600 }];
    // 1 s of 3600 W at x1 = 1 Wh, not the window's 10 s.
    assert.equal(heldEnergyWh(samples, { fromMs: 0, toMs: 10_000 }, { speed: 1, maxHoldMs: 1000 }), 1);
  });

  test('samples in any order; `counted` turns each into the power that counts', () => {
    const samples = [
      { at: 2000, value: 500 },
      { at: 0, value: 1500 },
    ];
    const curtailed = heldEnergyWh(
      samples,
      { fromMs: 0, toMs: 4000 },
      // available 2000 W: 500 W curtailed for 2 s, then 1500 W for 2 s; x900 -> 2000 x 4 s x 900 / 3600 s
      { speed: 900, maxHoldMs: 10_000, counted: (s) => Math.max(0, 2000 - s.value) },
    );
    assert.equal(curtailed, ((500 * 2000 + 1500 * 2000) * 900) / 3_600_000);
    assert.equal(heldEnergyWh([], { fromMs: 0, toMs: 1000 }, { speed: 1, maxHoldMs: 1000 }), 0);
  });
});

describe('percentile', () => {
  test('nearest rank; null for nothing', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([7], 50), 7);
    assert.equal(percentile([4, 1, 3, 2], 50), 2);
    assert.equal(percentile([4, 1, 3, 2], 100), 4);
    assert.equal(percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90), 90);
  });
});

describe('ComplianceTally', () => {
  test('counts only in-force targets the engine could judge; means, share compliant, worst shortfall', () => {
    const tally = new ComplianceTally();
    tally.add('e1', { value: 1500, inForce: true, deliveredW: 1400, compliant: true, shortfallW: 0 });
    tally.add('e1', { value: 1500, inForce: true, deliveredW: 2500, compliant: false, shortfallW: 1000 });
    tally.add('e1', { value: 1500, inForce: false, deliveredW: 9000, compliant: false, shortfallW: 7500 });
    tally.add('e1', { value: 1500, inForce: true });
    assert.deepEqual(tally.result('e1'), {
      samples: 2,
      targetW: 1500,
      meanDeliveredW: 1950,
      compliantPct: 50,
      maxShortfallW: 1000,
    });
    assert.deepEqual(tally.result('unknown'), {
      samples: 0,
      targetW: null,
      meanDeliveredW: null,
      compliantPct: null,
      maxShortfallW: null,
    });
  });
});

function command(
  id: string,
  deviceId: string,
  history: Array<[Command['status'], number]>,
  readBack?: boolean,
): Command {
  const status = history.at(-1)?.[0] ?? 'pending';
  return {
    id,
    deviceId,
    setpoint: {
      kind: 'exportLimit',
      value: 1500,
      start: 0,
      expiry: 60_000,
      source: { kind: 'program', ref: 'e1' },
    },
    status,
    attempts: 1,
    createdAt: history[0]?.[1] ?? 0,
    updatedAt: history.at(-1)?.[1] ?? 0,
    history: history.map(([s, at]) => ({ status: s, at })),
    ...(readBack === undefined ? {} : { readBack: { at: 0, value: 1500, matched: readBack } }),
  } as Command;
}

describe('command outcomes and lag', () => {
  const commands = [
    // confirmed, later superseded: counts as confirmed
    command(
      'c1',
      'pv-1',
      [
        ['pending', 1000],
        ['sent', 1100],
        ['confirmed', 1600],
        ['superseded', 9000],
      ],
      true,
    ),
    command(
      'c2',
      'pv-1',
      [
        ['pending', 9000],
        ['sent', 9100],
        ['confirmed', 9400],
      ],
      true,
    ),
    command('c3', 'battery-1', [
      ['pending', 1000],
      ['sent', 1200],
      ['failed', 1300],
    ]),
    command('c4', 'battery-2', [
      ['pending', 1000],
      ['expired', 40_000],
    ]),
    command(
      'c5',
      'battery-3',
      [
        ['pending', 1000],
        ['sent', 1100],
        ['confirmed', 3500],
      ],
      true,
    ),
  ];

  test('confirmed means a matched read-back; failed; the rest unconfirmed; devices counted once', () => {
    assert.deepEqual(commandOutcome(commands), {
      total: 5,
      confirmed: 3,
      failed: 1,
      unconfirmed: 1,
      devices: 4,
      devicesConfirmed: 2,
    });
  });

  test('lag per device from the start to its first confirmed command: p50 and the last device', () => {
    // pv-1: 1600 - 1000 = 600; battery-3: 3500 - 1000 = 2500
    assert.deepEqual(confirmationLag(commands, 1000), { devices: 2, p50Ms: 600, maxMs: 2500 });
    assert.deepEqual(confirmationLag([], 0), { devices: 0, p50Ms: null, maxMs: null });
    // A confirmation before the start counts as no lag.
    assert.equal(confirmationLag(commands, 5000).p50Ms, 0);
  });
});
