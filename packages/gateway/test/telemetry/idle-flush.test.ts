import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '@gridseam/model';
import { TelemetryWriter } from '../../src/telemetry/writer.ts';

function reading(ts: number): Reading {
  return { deviceId: 'bess-1', ts, measurand: 'activePower', value: -1000, unit: 'W' };
}

/** A sink that records each batch it was asked to write. */
function recordingSink() {
  const batches: number[] = [];
  const write = async (readings: readonly Reading[]): Promise<number> => {
    batches.push(readings.length);
    return readings.length;
  };
  return { batches, write };
}

describe('TelemetryWriter idle flush', () => {
  it('commits what it holds once producers pause, well before the flush interval', async () => {
    const sink = recordingSink();
    // An hour-long interval: only the idle flush can commit these within the test.
    const writer = new TelemetryWriter(sink, { batchSize: 1000, flushIntervalMs: 3_600_000, idleFlushMs: 5 });
    await Promise.all([writer.add([reading(1), reading(2)]), writer.add([reading(3)])]);
    assert.deepEqual(sink.batches, [3], 'the two adds were committed together, as one batch');
    assert.equal(writer.buffered, 0);
    await writer.close();
  });

  it('without an idle flush, holds readings until flush or close', async () => {
    const sink = recordingSink();
    const writer = new TelemetryWriter(sink, { batchSize: 1000, flushIntervalMs: 3_600_000 });
    let committed = false;
    const added = writer.add([reading(1)]).then(() => {
      committed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(committed, false);
    assert.equal(writer.buffered, 1);
    await writer.close();
    await added;
    assert.deepEqual(sink.batches, [1]);
  });
});
