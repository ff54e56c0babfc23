/**
 * The event rules take their own minimal shapes; these checks keep them compatible with the decoded resources
 * (src/resources) so a DERControl can be passed straight in, and keep the status numbers in step.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CONTROL_RESPONSE,
  CONTROL_TYPES,
  CURRENT_STATUS,
  type DefaultControl,
  resolveActiveControls,
  type ScheduledControl,
  serverEventStatus,
  stateFromEventStatus,
} from '../../src/events/index.ts';
import { EVENT_STATUS, RESPONSE_STATUS } from '../../src/resources/enums.ts';
import type { DERControl, DERControlBase, DefaultDERControl } from '../../src/resources/types.ts';
import { T0 } from './helpers.ts';

describe('compatibility with src/resources', () => {
  test('status numbers agree with the resources enums', () => {
    assert.deepEqual(Object.values(CURRENT_STATUS), [
      EVENT_STATUS.scheduled,
      EVENT_STATUS.active,
      EVENT_STATUS.cancelled,
      EVENT_STATUS.cancelledWithRandomization,
      EVENT_STATUS.superseded,
    ]);
    assert.deepEqual(Object.values(CONTROL_RESPONSE), [
      RESPONSE_STATUS.eventReceived,
      RESPONSE_STATUS.eventStarted,
      RESPONSE_STATUS.eventCompleted,
      RESPONSE_STATUS.eventCancelled,
      RESPONSE_STATUS.eventSuperseded,
    ]);
  });

  test('every CONTROL_TYPES name is a DERControlBase member (type-checked) and rampTms is not a control type', () => {
    const names: ReadonlyArray<keyof DERControlBase> = CONTROL_TYPES;
    assert.equal(names.length, 30);
    assert.ok(!(CONTROL_TYPES as readonly string[]).includes('rampTms'));
  });

  test('a decoded DERControl and DefaultDERControl can be used as they are', () => {
    const derc: DERControl = {
      href: '/derp/1/derc/1',
      mRID: 'a1b2',
      description: 'export limit',
      replyTo: '/rsps/1/rsp',
      responseRequired: '03',
      creationTime: T0 - 100,
      EventStatus: { currentStatus: 2, dateTime: T0 - 5, potentiallySuperseded: false },
      interval: { start: T0 - 60, duration: 600 },
      randomizeStart: 30,
      DERControlBase: { opModExpLimW: { multiplier: 3, value: 5 }, rampTms: 100 },
    };
    const dderc: DefaultDERControl = {
      href: '/derp/1/dderc',
      mRID: 'd1',
      DERControlBase: { opModExpLimW: { multiplier: 3, value: 1 } },
    };
    const scheduled: ScheduledControl = {
      ...derc,
      programId: '/derp/1',
      programPrimacy: 1,
      ...stateFromEventStatus(derc.EventStatus),
    };
    const fallback: DefaultControl = { ...dderc, programId: '/derp/1', programPrimacy: 1 };
    assert.deepEqual(serverEventStatus(scheduled, T0), {
      currentStatus: CURRENT_STATUS.Cancelled, // a received plain cancellation stays plain despite randomizeStart
      dateTime: T0 - 5,
      potentiallySuperseded: false,
    });
    const schedule = resolveActiveControls({
      controls: [scheduled],
      defaults: [fallback],
      now: T0,
      offsets: new Map(),
    });
    assert.deepEqual(schedule.byType.opModExpLimW?.value, { multiplier: 3, value: 1 });
  });
});
