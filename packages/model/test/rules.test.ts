import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COMMAND_STATUSES,
  canTransition,
  eventEnd,
  eventStart,
  isBidirectional,
  isMemberAt,
  isSetpointActive,
  type Membership,
  membersAt,
  supportsControl,
  TERMINAL_COMMAND_STATUSES,
  unitOf,
} from '../src/index.ts';
import { aBattery, anEvent, T0 } from './fixtures.ts';

describe('command lifecycle', () => {
  it('follows pending -> sent -> confirmed, and may be superseded while live', () => {
    assert.ok(canTransition('pending', 'sent'));
    assert.ok(canTransition('sent', 'confirmed'));
    assert.ok(canTransition('sent', 'sent'), 'a retry re-sends');
    assert.ok(canTransition('confirmed', 'superseded'));
    assert.ok(canTransition('pending', 'superseded'));
  });

  it('never leaves failed, expired or superseded, and cannot skip to confirmed', () => {
    for (const from of ['failed', 'expired', 'superseded'] as const) {
      for (const to of COMMAND_STATUSES) assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
      assert.ok(TERMINAL_COMMAND_STATUSES.has(from));
    }
    assert.equal(canTransition('pending', 'confirmed'), false);
    assert.equal(canTransition('confirmed', 'sent'), false);
  });
});

describe('time rules', () => {
  it('treats a setpoint as active on [start, expiry)', () => {
    const sp = { start: T0, expiry: T0 + 1000 };
    assert.equal(isSetpointActive(sp, T0 - 1), false);
    assert.equal(isSetpointActive(sp, T0), true);
    assert.equal(isSetpointActive(sp, T0 + 999), true);
    assert.equal(isSetpointActive(sp, T0 + 1000), false);
  });

  it('answers who was in a group at an instant', () => {
    const memberships: Membership[] = [
      { groupId: 'g', deviceId: 'a', validFrom: T0 },
      { groupId: 'g', deviceId: 'b', validFrom: T0, validTo: T0 + 5 * 60_000 },
      { groupId: 'g', deviceId: 'c', validFrom: T0 + 10 * 60_000 },
      { groupId: 'g', deviceId: 'b', validFrom: T0 + 20 * 60_000 },
    ];
    assert.deepEqual(membersAt(memberships, T0 - 1), []);
    assert.deepEqual(membersAt(memberships, T0 + 60_000), ['a', 'b']);
    assert.deepEqual(membersAt(memberships, T0 + 5 * 60_000), ['a'], 'validTo is exclusive');
    assert.deepEqual(membersAt(memberships, T0 + 15 * 60_000), ['a', 'c']);
    assert.deepEqual(membersAt(memberships, T0 + 25 * 60_000), ['a', 'b', 'c']);
    assert.equal(isMemberAt(memberships[1] as Membership, T0), true);
  });

  it('computes an event span from its intervals', () => {
    const event = anEvent({
      intervals: [
        { start: T0 + 3600_000, durationS: 1800, signals: [{ kind: 'price', value: 0.4, unit: 'USD/kWh' }] },
        { start: T0, durationS: 3600, signals: [{ kind: 'price', value: 0.2, unit: 'USD/kWh' }] },
      ],
    });
    assert.equal(eventStart(event), T0);
    assert.equal(eventEnd(event), T0 + 5400_000);
  });
});

describe('capabilities and units', () => {
  it('answers capability questions', () => {
    const battery = aBattery();
    assert.ok(supportsControl(battery, 'fixedW'));
    assert.equal(supportsControl(battery, 'evChargingLimit'), false);
    assert.ok(isBidirectional(battery));
    assert.equal(isBidirectional({ class: 'ev-charger', capabilities: { controls: [] } }), false);
    assert.ok(isBidirectional({ class: 'ev-charger', capabilities: { controls: [], ev: { bidirectional: true } } }));
  });

  it('has one canonical unit per measurand', () => {
    assert.equal(unitOf('activePower'), 'W');
    assert.equal(unitOf('energyExported'), 'Wh');
    assert.equal(unitOf('stateOfCharge'), '%');
    assert.equal(unitOf('operatingState'), 'state');
  });
});
