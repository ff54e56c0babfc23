/**
 * PollScheduler with fake adapters and a manual clock: cadence, spread and jitter, the
 * concurrency limit, back-off and the faulty/ok transitions. Time only moves when the test says
 * so, so nothing here depends on how fast the machine is.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PollScheduler } from '../../src/edge/scheduler.ts';
import { FakeAdapter, FakeClock, Gate, RecordingSink, settle } from './helpers.ts';

function scheduler(
  clock: FakeClock,
  sink: RecordingSink,
  options: Partial<ConstructorParameters<typeof PollScheduler>[0]> = {},
) {
  return new PollScheduler({ sink, clock, random: () => 0, jitter: 0, ...options });
}

describe('PollScheduler', () => {
  test('each device is polled at its own cadence, and its readings go to the sink under its id', async () => {
    const clock = new FakeClock(1_000_000);
    const sink = new RecordingSink();
    const poller = scheduler(clock, sink);
    const fast = new FakeAdapter('fast');
    const medium = new FakeAdapter('medium');
    const slow = new FakeAdapter('slow');
    poller.add(fast, { pollIntervalMs: 1000 });
    poller.add(medium, { pollIntervalMs: 2500 });
    poller.add(slow, { pollIntervalMs: 5000 });
    poller.start();
    await clock.advance(10_000);
    await poller.stop();

    const rel = (a: FakeAdapter) => a.polls.map((t) => t - 1_000_000);
    assert.deepEqual(rel(fast), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    assert.deepEqual(rel(medium), [0, 2500, 5000, 7500, 10000]);
    assert.deepEqual(rel(slow), [0, 5000, 10000]);
    assert.equal(sink.batches.length, 11 + 5 + 3);
    for (const batch of sink.batches) assert.equal(batch.readings[0]?.deviceId, batch.deviceId);
    assert.deepEqual(
      sink.batches.filter((b) => b.deviceId === 'slow').map((b) => b.readings[0]?.ts),
      slow.polls,
    );
    assert.deepEqual(poller.stats(), {
      devices: 3,
      polls: 19,
      failures: 0,
      readings: 19,
      sinkFailures: 0,
      inFlight: 0,
      maxInFlight: 3,
    });
  });

  test('first polls are spread over the interval and jitter delays each poll without drifting the cadence', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    // Spread draws 0.1, 0.5, 0.9 for the three devices; every jitter draw is 0.5.
    const draws = [0.1, 0.5, 0.5, 0.5, 0.9, 0.5];
    const poller = scheduler(clock, sink, { random: () => draws.shift() ?? 0.5, jitter: 0.2 });
    const adapters = ['a', 'b', 'c'].map((id) => new FakeAdapter(id));
    for (const adapter of adapters) poller.add(adapter, { pollIntervalMs: 1000 });
    poller.start();
    await clock.advance(3000);
    await poller.stop();
    // Nominal first polls at 100, 500, 900; each poll starts 0.5 x 0.2 x 1000 = 100 ms after its
    // nominal time, and the next nominal time is one interval after the previous nominal time.
    assert.deepEqual(
      adapters.map((a) => a.polls),
      [
        [200, 1200, 2200],
        [600, 1600, 2600],
        [1000, 2000, 3000],
      ],
    );
  });

  test('never runs more polls at once than the concurrency limit, and still polls every device', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const gate = new Gate();
    const poller = scheduler(clock, sink, { concurrency: 4 });
    const adapters = Array.from({ length: 20 }, (_, i) => new FakeAdapter(`dev-${i}`));
    for (const adapter of adapters) {
      adapter.gate = gate;
      poller.add(adapter, { pollIntervalMs: 60_000 });
    }
    poller.start();
    await clock.advance(0);
    assert.equal(gate.inside, 4, 'the limit is reached');
    assert.equal(poller.stats().inFlight, 4);
    // Release polls a few at a time; every device gets its first poll, four at most at a time.
    while (adapters.some((a) => a.polls.length === 0)) {
      gate.release(3);
      await settle();
      assert.ok(gate.inside <= 4, `inside ${gate.inside}`);
    }
    gate.release();
    await settle();
    await poller.stop();
    assert.equal(gate.maxInside, 4);
    assert.equal(poller.stats().maxInFlight, 4);
    assert.deepEqual(
      adapters.map((a) => a.polls.length),
      adapters.map(() => 1),
    );
    assert.equal(sink.batches.length, 20);
  });

  test('a failing device backs off exponentially, turns faulty, then ok again on its first good poll', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const poller = scheduler(clock, sink, { faultyAfter: 3 });
    const flaky = new FakeAdapter('flaky');
    const steady = new FakeAdapter('steady');
    flaky.failPolls = 4;
    poller.add(flaky, { pollIntervalMs: 1000 });
    poller.add(steady, { pollIntervalMs: 1000 });
    poller.start();

    await clock.advance(2999);
    assert.deepEqual(flaky.polls, [0, 1000]);
    assert.equal(poller.health('flaky'), 'ok', 'two failures are not yet faulty');
    assert.equal(sink.states.length, 0);

    await clock.advance(1); // third failure at 3000
    assert.equal(poller.health('flaky'), 'faulty');
    assert.equal(sink.states.length, 1);
    assert.equal(sink.states[0]?.deviceId, 'flaky');
    assert.equal(sink.states[0]?.online, false);
    assert.match(sink.states[0]?.detail ?? '', /3 polls failed in a row; last: GW_ERR_DEVICE_UNREACHABLE/);
    assert.deepEqual(poller.status('flaky')?.lastError, {
      code: 'GW_ERR_DEVICE_UNREACHABLE',
      message: 'flaky: timeout',
    });

    await clock.advance(12_000); // fourth failure at 7000, then success at 15000
    // Back-off: 1000, 2000, 4000, 8000 after failures 1..4; after the success, the normal interval.
    assert.deepEqual(flaky.polls, [0, 1000, 3000, 7000, 15000]);
    assert.equal(poller.health('flaky'), 'ok');
    assert.deepEqual(
      sink.states.map((s) => [s.online, s.at]),
      [
        [false, 3000],
        [true, 15000],
      ],
    );
    await clock.advance(1000);
    assert.deepEqual(flaky.polls.slice(-2), [15000, 16000]);
    assert.equal(poller.status('flaky')?.consecutiveFailures, 0);
    assert.equal(poller.status('flaky')?.failures, 4);
    // The healthy device kept its cadence throughout.
    assert.equal(steady.polls.length, 17);
    assert.equal(poller.health('steady'), 'ok');
    await poller.stop();
  });

  test('back-off is capped by maxBackoffMs', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const poller = scheduler(clock, sink, { maxBackoffMs: 3000 });
    const dead = new FakeAdapter('dead');
    dead.failPolls = Number.POSITIVE_INFINITY;
    poller.add(dead, { pollIntervalMs: 1000 });
    poller.start();
    await clock.advance(20_000);
    await poller.stop();
    assert.deepEqual(dead.polls, [0, 1000, 3000, 6000, 9000, 12000, 15000, 18000]);
    assert.equal(sink.states.length, 1, 'faulty is announced once');
  });

  test('a sink failure loses the readings but does not blame the device', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    sink.failReadings = true;
    const poller = scheduler(clock, sink, { faultyAfter: 1 });
    const device = new FakeAdapter('d1');
    poller.add(device, { pollIntervalMs: 1000 });
    poller.start();
    await clock.advance(2000);
    await poller.stop();
    assert.deepEqual(device.polls, [0, 1000, 2000]);
    assert.equal(poller.health('d1'), 'ok');
    assert.equal(poller.stats().sinkFailures, 3);
    assert.deepEqual(sink.states, []);
  });

  test('a removed device is not polled again; a device is never added twice', async () => {
    const clock = new FakeClock(0);
    const sink = new RecordingSink();
    const poller = scheduler(clock, sink);
    const device = new FakeAdapter('d1');
    poller.add(device, { pollIntervalMs: 1000 });
    assert.throws(() => poller.add(device, { pollIntervalMs: 1000 }), { code: 'GW_ERR_CONFLICT' });
    assert.throws(() => poller.add(new FakeAdapter('d2'), { pollIntervalMs: 0 }), { code: 'GW_ERR_VALIDATION' });
    poller.start();
    await clock.advance(1000);
    assert.equal(await poller.remove('d1'), true);
    await clock.advance(5000);
    await poller.stop();
    assert.deepEqual(device.polls, [0, 1000]);
    assert.equal(poller.has('d1'), false);
    assert.equal(clock.pendingTimers, 0, 'no timer is left behind');
  });
});
