/**
 * 2.0b events to canonical ProgramEvents (src/v2b/canonical.ts): signal kinds, interval cutting across signals
 * (the EPRI two-signal fixture), units and scales, priority to primacy, targets through the map, randomisation,
 * status and opt state, and the canonical result validating against the model's ProgramEvent schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { check, ProgramEvent } from '@gridseam/model';
import {
  canonicalSignals,
  eventIdOf,
  type Oadr2bProgramMapping,
  OPEN_ENDED_S,
  primacyOf,
  programEventFrom2b,
} from '../../../src/v2b/canonical.ts';
import { type OadrEvent, type OadrMessageOf, parseOadr } from '../../../src/v2b/codec/index.ts';
import { EPRI_FIXTURES_DIR } from '../../helpers/xsd.ts';
import { testEvent } from '../support/test-vtn.ts';
import { sharedSkipReason } from '../support/xsd.ts';

const PROGRAM: Oadr2bProgramMapping = {
  programId: 'oadr2b.cpp',
  primacy: 20,
  simpleLevels: { '1': [{ kind: 'generationLimit', value: 5000 }], '2': [{ kind: 'exportLimit', value: 0 }] },
  loadCapacityW: 10_000,
};
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

function signal(
  signalName: string,
  signalType: OadrEvent['eiEventSignals'][number]['signalType'],
  itemBase?: OadrEvent['eiEventSignals'][number]['itemBase'],
): OadrEvent['eiEventSignals'][number] {
  return {
    intervals: [],
    signalName: signalName as OadrEvent['eiEventSignals'][number]['signalName'],
    signalType,
    signalID: 's',
    ...(itemBase === undefined ? {} : { itemBase }),
  };
}

function valid(event: unknown): void {
  const result = check(ProgramEvent, event);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.issues));
}

describe('2.0b canonical mapping', () => {
  test('signal kinds', () => {
    assert.deepEqual(canonicalSignals(signal('simple', 'level'), 2, PROGRAM), [
      { kind: 'simpleLevel', value: 2, unit: 'level' },
      { kind: 'exportLimit', value: 0 },
    ]);
    assert.deepEqual(canonicalSignals(signal('SIMPLE', 'level'), 0, PROGRAM), [
      { kind: 'simpleLevel', value: 0, unit: 'level' },
    ]);
    assert.equal(canonicalSignals(signal('SIMPLE', 'level'), 4, PROGRAM), undefined, 'SIMPLE is 0..3');
    assert.deepEqual(
      canonicalSignals(
        signal('ELECTRICITY_PRICE', 'price', {
          kind: 'currencyPerKWh',
          itemDescription: 'currencyPerKWh',
          itemUnits: 'USD',
          siScaleCode: 'none',
        }),
        0.31,
        PROGRAM,
      ),
      [{ kind: 'price', value: 0.31, unit: 'USD/kWh' }],
    );
    assert.deepEqual(canonicalSignals(signal('ENERGY_PRICE', 'priceRelative'), -0.05, PROGRAM), [
      { kind: 'price', value: -0.05, unit: 'relative' },
    ]);
    const kw = {
      kind: 'powerReal' as const,
      itemDescription: 'RealPower',
      itemUnits: 'W',
      siScaleCode: 'k' as const,
      powerAttributes: { hertz: 60, voltage: 240, ac: true },
    };
    assert.deepEqual(canonicalSignals(signal('LOAD_DISPATCH', 'setpoint', kw), 2.5, PROGRAM), [
      { kind: 'loadDispatch', value: 2500, unit: 'W' },
      { kind: 'importLimit', value: 2500, unit: 'W' },
    ]);
    assert.deepEqual(canonicalSignals(signal('LOAD_DISPATCH', 'delta', kw), -1, PROGRAM), [
      { kind: 'loadDispatch', value: -1000, unit: 'W delta' },
    ]);
    assert.deepEqual(canonicalSignals(signal('LOAD_CONTROL', 'x-loadControlCapacity'), 0.4, PROGRAM), [
      { kind: 'loadDispatch', value: 40, unit: '%' },
      { kind: 'loadLimit', value: 4000, unit: 'W' },
    ]);
    assert.deepEqual(canonicalSignals(signal('CHARGE_STATE', 'setpoint'), 80, PROGRAM), [
      { kind: 'targetSoc', value: 80, unit: '%' },
    ]);
    assert.equal(canonicalSignals(signal('BID_LOAD', 'setpoint'), 1, PROGRAM), undefined);
    assert.equal(canonicalSignals(signal('x-custom', 'level'), 1, PROGRAM), undefined);
  });

  test('priority to primacy', () => {
    assert.equal(primacyOf(20, 0), 20, 'no priority: the program primacy');
    assert.equal(primacyOf(20, undefined), 20);
    assert.equal(primacyOf(20, 1), 12, 'priority 1 ranks highest');
    assert.equal(primacyOf(20, 8), 19);
    assert.equal(primacyOf(20, 100), 19);
    assert.equal(primacyOf(3, 1), 0, 'never below 0');
  });

  test('a SIMPLE event with targets, randomisation and opt state', () => {
    const event = testEvent({
      eventId: 'evt/1',
      start: T0 + 3_600_000,
      durationS: 3600,
      values: [1, 2],
      resourceIds: ['meter-a', 'unknown'],
      priority: 2,
      startafterS: 300,
    });
    const result = programEventFrom2b(event, {
      program: PROGRAM,
      targets: { resources: { 'meter-a': { siteIds: ['site-1'] } } },
      venId: 'VEN_1',
      startOffsetS: 120,
      now: T0,
    });
    assert.ok(result.event);
    valid(result.event);
    assert.equal(result.event.id, 'oadr2b.evt.1');
    assert.equal(result.event.externalId, 'evt/1');
    assert.equal(result.event.source, 'openadr2b');
    assert.equal(result.event.primacy, 13);
    assert.deepEqual(result.event.targets, { siteIds: ['site-1'] });
    assert.deepEqual(result.unmappedTargets, ['resourceID:unknown']);
    assert.equal(result.event.randomizeStartS, 300);
    assert.equal(result.event.status, 'scheduled');
    assert.deepEqual(
      result.event.intervals.map((i) => [i.start - T0, i.durationS, i.signals.map((s) => `${s.kind}=${s.value}`)]),
      [
        [3_720_000, 1800, ['simpleLevel=1', 'generationLimit=5000']],
        [5_520_000, 1800, ['simpleLevel=2', 'exportLimit=0']],
      ],
    );
    const optedOut = programEventFrom2b(event, {
      program: PROGRAM,
      targets: { resources: { 'meter-a': { siteIds: ['site-1'] } } },
      optType: 'optOut',
      now: T0,
    });
    assert.equal(optedOut.event?.status, 'opted-out');
  });

  test('targets: our venID is the whole program; only unmapped targets is a mismatch', () => {
    const event = testEvent({ start: T0, durationS: 600, venId: 'VEN_1', resourceIds: ['r-9'] });
    assert.deepEqual(programEventFrom2b(event, { program: PROGRAM, venId: 'VEN_1', now: T0 }).event?.targets, {});
    const other = testEvent({ start: T0, durationS: 600, resourceIds: ['r-9'] });
    const mismatch = programEventFrom2b(other, { program: PROGRAM, venId: 'VEN_1', now: T0 });
    assert.equal(mismatch.skipped, 'target-mismatch');
    assert.equal(mismatch.event, undefined);
    const groups = programEventFrom2b(
      { ...other, eiTarget: { groupID: ['g'], partyID: ['p'] } },
      {
        program: PROGRAM,
        targets: { groups: { g: { groupIds: ['fleet-a'] } }, parties: { p: { deviceIds: ['bat-1'] } } },
        now: T0,
      },
    );
    assert.deepEqual(groups.event?.targets, { groupIds: ['fleet-a'], deviceIds: ['bat-1'] });
  });

  test('status: active in the window, completed after, cancelled; open-ended duration', () => {
    const event = testEvent({ start: T0, durationS: 600 });
    assert.equal(programEventFrom2b(event, { program: PROGRAM, now: T0 + 1000 }).event?.status, 'active');
    assert.equal(programEventFrom2b(event, { program: PROGRAM, now: T0 + 600_000 }).event?.status, 'completed');
    const cancelled = structuredClone(event);
    cancelled.eventDescriptor.eventStatus = 'cancelled';
    assert.equal(programEventFrom2b(cancelled, { program: PROGRAM, now: T0 }).event?.status, 'cancelled');
    const open = structuredClone(event);
    open.eiActivePeriod.duration = 0;
    const firstInterval = open.eiEventSignals[0]?.intervals[0];
    if (firstInterval) firstInterval.duration = 0;
    const mapped = programEventFrom2b(open, { program: PROGRAM, now: T0 }).event;
    assert.equal(mapped?.intervals[0]?.durationS, OPEN_ENDED_S);
    valid(mapped);
  });

  test('an event with no supported signal is skipped and says why', () => {
    const event = testEvent({ start: T0, durationS: 600, signalName: 'BID_ENERGY', signalType: 'setpoint' });
    const result = programEventFrom2b(event, { program: PROGRAM, now: T0 });
    assert.equal(result.skipped, 'no-supported-signal');
    assert.deepEqual(result.unsupportedSignals, ['BID_ENERGY/setpoint']);
  });

  test('ids: long or odd eventIDs still give a valid, stable id', () => {
    assert.equal(eventIdOf('7eceb89c-5000-4c4f-8407-2137c66b4c87'), 'oadr2b.7eceb89c-5000-4c4f-8407-2137c66b4c87');
    const long = 'x'.repeat(300);
    assert.equal(eventIdOf(long), eventIdOf(long));
    assert.match(eventIdOf(long), /^oadr2b\.[0-9a-f]{16}$/);
    assert.match(eventIdOf('!!!'), /^oadr2b\.[0-9a-f]{16}$/);
  });

  test('EPRI fixture: two signals of different interval lengths are cut into common intervals', {
    skip: sharedSkipReason() ?? false,
  }, () => {
    const xml = readFileSync(join(EPRI_FIXTURES_DIR, 'test_input/payload/distribute_event_1event2signals.xml'), 'utf8');
    const distribute = parseOadr(xml) as OadrMessageOf<'oadrDistributeEvent'>;
    const event = distribute.oadrEvent?.[0];
    assert.ok(event);
    const start = event.eiActivePeriod.dtstart;
    const result = programEventFrom2b(event, {
      program: { programId: 'p', primacy: 50 },
      venId: 'deef06ba5329fcc0e5fa',
      now: start - 1000,
    });
    assert.ok(result.event);
    valid(result.event);
    assert.deepEqual(
      result.event.intervals.map((i) => [
        (i.start - start) / 60_000,
        i.durationS / 60,
        i.signals.map((s) => `${s.kind}=${s.value}`).sort(),
      ]),
      [
        [0, 40, ['price=0.5', 'simpleLevel=0']],
        [40, 20, ['price=0.5', 'simpleLevel=1']],
        [60, 20, ['price=0.75', 'simpleLevel=1']],
        [80, 40, ['price=0.75', 'simpleLevel=2']],
      ],
    );
  });
});
