/**
 * Reports: the planning rules (src/v3/ven/reports.ts) as tables, and the VEN posting the reports an
 * event's reportDescriptors ask for to the project's VTN over 127.0.0.1, both versions, from a
 * telemetry callback: interval-aligned (USAGE and READING after the last interval; a state of
 * charge report after every interval) and ad hoc. Each report the VTN stored is valid against the
 * version's `report` schema.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeReportDescriptor } from '../../../src/v3/canonical.ts';
import { openapiValidator } from '../../../src/v3/validate.ts';
import {
  createVen3,
  IntervalAccumulator,
  plannedReports,
  type ResourceSample,
  reportGroups,
} from '../../../src/v3/ven/index.ts';
import { Recorder, startTestVtn, VEN, VERSIONS, waitFor } from './support.ts';

const timeline = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: 10 + i, start: i * 1000, end: (i + 1) * 1000 }));

describe('report planning (User Guide §7.5)', () => {
  test('which intervals each report covers and when it is due', () => {
    const rows: Array<[string, Parameters<typeof normalizeReportDescriptor>[0], number, Array<[number[], number]>]> = [
      ['defaults: one report after the last interval over all', { payloadType: 'USAGE' }, 4, [[[0, 1, 2, 3], 4000]]],
      [
        'periodic: startInterval 1, numIntervals 2, frequency 2, repeat 3',
        { payloadType: 'USAGE', startInterval: 1, numIntervals: 2, frequency: 2, repeat: 3 },
        6,
        [
          [[0, 1], 2000],
          [[2, 3], 4000],
          [[4, 5], 6000],
        ],
      ],
      [
        'every interval until the end (repeat -1)',
        { payloadType: 'READING', startInterval: 0, numIntervals: 1, frequency: 1, repeat: -1 },
        3,
        [
          [[0], 1000],
          [[1], 2000],
          [[2], 3000],
        ],
      ],
      ['last two intervals only', { payloadType: 'USAGE', numIntervals: 2 }, 5, [[[3, 4], 5000]]],
    ];
    for (const [what, descriptor, n, expected] of rows) {
      const { groups, unsupported } = reportGroups([normalizeReportDescriptor(descriptor)], timeline(n));
      assert.deepEqual(unsupported, [], what);
      const planned = groups.flatMap((g) => plannedReports(g, timeline(n)));
      assert.deepEqual(
        planned.map((p) => [p.cover, p.dueAt]),
        expected,
        what,
      );
    }
  });

  test('ad hoc, report-only and forecast descriptors; shared timing shares a report', () => {
    const adHoc = reportGroups([normalizeReportDescriptor({ payloadType: 'READING', frequency: 0 })], timeline(3));
    assert.equal(adHoc.groups[0]?.adHoc, true);
    assert.deepEqual(plannedReports(adHoc.groups[0] ?? assert.fail(), timeline(3)), []);
    assert.equal(reportGroups([normalizeReportDescriptor({ payloadType: 'READING' })], []).groups[0]?.adHoc, true);
    const forecast = reportGroups(
      [normalizeReportDescriptor({ payloadType: 'USAGE_FORECAST', historical: false })],
      timeline(2),
    );
    assert.deepEqual(forecast.groups, []);
    assert.equal(forecast.unsupported[0]?.payloadType, 'USAGE_FORECAST');
    const shared = reportGroups(
      [
        normalizeReportDescriptor({ payloadType: 'READING', units: 'VOLTS' }),
        normalizeReportDescriptor({ payloadType: 'READING', units: 'KW' }),
        normalizeReportDescriptor({ payloadType: 'USAGE', frequency: 1, startInterval: 0 }),
      ],
      timeline(2),
    );
    assert.deepEqual(
      shared.groups.map((g) => g.descriptors.map((d) => d.units ?? d.payloadType)),
      [['VOLTS', 'KW'], ['USAGE']],
    );
  });

  test('an interval accumulator averages powers and takes USAGE from the energy counter', () => {
    const accumulator = new IntervalAccumulator(1000);
    const sample = (activePowerW: number, energyImportedWh: number, socPct: number): ResourceSample => ({
      resourceName: 'r',
      values: { activePowerW, socPct, operatingState: 'running' },
      energyImportedWh,
    });
    accumulator.add(sample(-1000, 1100, 50));
    accumulator.add(sample(-3000, 1300, 52));
    assert.deepEqual(accumulator.values(), {
      activePowerW: -2000,
      socPct: 51,
      operatingState: 'running',
      usageWh: 300,
    });
    assert.equal(new IntervalAccumulator().values().usageWh, undefined);
  });
});

for (const version of VERSIONS)
  test(`VEN ${version}: reports asked for by the event reach the VTN`, async (t) => {
    const { url, bl, vtn } = await startTestVtn(t, version);
    const program = await bl.create('/programs', { programName: 'DOE' });
    let energy = 5000;
    const telemetry = async (names: readonly string[]): Promise<ResourceSample[]> => {
      energy += 10;
      return names.map((resourceName) => ({
        resourceName,
        values: { activePowerW: -2000, voltageV: 230, socPct: 55, operatingState: 'running' },
        energyImportedWh: energy,
      }));
    };
    const ven = createVen3({
      version,
      vtnUrl: url,
      venName: VEN.venName,
      credentials: { clientId: VEN.clientId, clientSecret: VEN.secret },
      resources: ['site-1'],
      programs: { DOE: { primacy: 10 } },
      pollIntervalMs: 60_000,
      reports: { telemetry, sampleIntervalMs: 100, adHocIntervalMs: 300 },
    });
    const recorder = new Recorder(ven);
    t.after(() => ven.stop());
    await ven.start();

    const start = Date.now() + 200;
    const event = await bl.create('/events', {
      programID: program.id,
      eventName: 'reported',
      intervalPeriod: { start: new Date(start).toISOString(), duration: 'PT1S' },
      intervals: [
        { id: 0, payloads: [{ type: 'SIMPLE', values: [1] }] },
        { id: 1, payloads: [{ type: 'SIMPLE', values: [2] }] },
      ],
      reportDescriptors: [
        { payloadType: 'USAGE', readingType: 'DIRECT_READ', units: 'KWH' },
        { payloadType: 'READING', readingType: 'DIRECT_READ', units: 'KW' },
        { payloadType: 'STORAGE_CHARGE_LEVEL', startInterval: 0, numIntervals: 1, frequency: 1, repeat: -1 },
        { payloadType: 'SIMPLE_LEVEL', frequency: 0, aggregate: true },
      ],
    });
    await ven.syncNow();
    const posted = await waitFor(() => {
      const sent = recorder.reports.filter((r) => r.posted);
      const intervalAligned = sent.filter((r) => !r.payloadTypes.includes('SIMPLE_LEVEL'));
      return intervalAligned.length >= 3 && sent.length > intervalAligned.length ? sent : undefined;
    }, 'the usage report, two state of charge reports and an ad hoc one');
    assert.deepEqual(
      recorder.errors.map((e) => e.message),
      [],
    );

    const stored = vtn.objects('report');
    assert.equal(stored.length, posted.length);
    const validator = openapiValidator(version);
    for (const report of stored) {
      assert.deepEqual(validator.schema('report', report), [], JSON.stringify(report));
      assert.equal(report.eventID, event.id);
      assert.equal(report.clientName, VEN.venName);
      if (version === '3.0.1') assert.equal(report.programID, program.id);
      else assert.equal(report.clientID, VEN.clientId);
    }
    type StoredReport = {
      resources: Array<{
        resourceName: string;
        intervals: Array<{ id: number; payloads: Array<{ type: string; values: unknown[] }> }>;
      }>;
    };
    const payloadsOf = (type: string) =>
      (stored as unknown as StoredReport[]).flatMap((r) =>
        r.resources.flatMap((res) =>
          res.intervals.flatMap((i) =>
            i.payloads
              .filter((p) => p.type === type)
              .map((p) => ({ resource: res.resourceName, id: i.id, value: p.values[0] })),
          ),
        ),
      );
    const usage = payloadsOf('USAGE');
    assert.deepEqual(
      usage.map((u) => [u.resource, u.id]),
      [
        ['site-1', 0],
        ['site-1', 1],
      ],
      'USAGE for both intervals in one report',
    );
    assert.ok(
      usage.every((u) => typeof u.value === 'number' && u.value > 0),
      JSON.stringify(usage),
    );
    assert.ok(
      payloadsOf('READING').every((r) => r.value === 2),
      'READING: 2 kW imported',
    );
    const soc = payloadsOf('STORAGE_CHARGE_LEVEL');
    assert.deepEqual(
      soc.map((s) => [s.id, s.value]),
      [
        [0, 0.55],
        [1, 0.55],
      ],
      'one state of charge report per interval',
    );
    const simple = payloadsOf('SIMPLE_LEVEL');
    assert.ok(
      simple.length >= 1 && simple.every((s) => s.resource === 'AGGREGATED_REPORT' && (s.value === 1 || s.value === 2)),
      JSON.stringify(simple),
    );
  });
