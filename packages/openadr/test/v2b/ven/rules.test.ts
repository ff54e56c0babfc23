/**
 * The VEN's pure rules: event status far / near / active / completed / cancelled with the randomisation offset,
 * the next status change, the randomisation draw, opt windows, test events; report requests checked against
 * the metadata, their schedule and the oadrUpdateReport built from samples.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ReportRequest } from '../../../src/v2b/codec/index.ts';
import {
  checkReportRequest,
  dataReportName,
  drawStartOffset,
  eventStatusAt,
  isOneShot,
  isTestEvent,
  metadataReports,
  nextStatusChange,
  overlapsWindows,
  samplesPerReport,
  updateReport,
} from '../../../src/v2b/ven/index.ts';
import { testEvent } from '../support/test-vtn.ts';
import { STATUS_RID, TEST_REPORTS, USAGE_RID } from '../support/ven-fixtures.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('2.0b VEN event rules', () => {
  const event = testEvent({ start: T0, durationS: 600 });
  event.eiActivePeriod.rampUp = 300;

  test('status through the event life cycle', () => {
    assert.equal(eventStatusAt(event, 'far', 0, T0 - 3_600_000), 'far');
    assert.equal(eventStatusAt(event, 'far', 0, T0 - 200_000), 'near', 'within the ramp-up');
    assert.equal(eventStatusAt(event, 'near', 0, T0 - 3_600_000), 'near', 'the VTN says near');
    assert.equal(eventStatusAt(event, 'far', 0, T0), 'active');
    assert.equal(eventStatusAt(event, 'far', 60, T0 + 30_000), 'near', 'the randomised start is later');
    assert.equal(eventStatusAt(event, 'active', 0, T0 + 600_000), 'completed');
    assert.equal(eventStatusAt(event, 'cancelled', 0, T0), 'cancelled');
    assert.equal(nextStatusChange(event, 0, T0 - 3_600_000), T0 - 300_000);
    assert.equal(nextStatusChange(event, 0, T0 + 1), T0 + 600_000);
    assert.equal(nextStatusChange(event, 0, T0 + 600_000), undefined);
  });

  test('randomisation, windows and test events', () => {
    const randomized = testEvent({ start: T0, durationS: 600, startafterS: 120 });
    assert.equal(
      drawStartOffset(randomized, () => 0),
      0,
    );
    assert.equal(
      drawStartOffset(randomized, () => 0.999999),
      120,
    );
    assert.equal(
      drawStartOffset(event, () => 0.5),
      0,
      'no window, no offset',
    );
    assert.equal(overlapsWindows(event, 0, [{ start: T0 + 599_000, durationS: 10 }]), true);
    assert.equal(overlapsWindows(event, 0, [{ start: T0 + 600_000, durationS: 10 }]), false, 'half-open');
    assert.equal(overlapsWindows(event, 0, [{ start: T0 - 10_000, durationS: 10 }]), false);
    assert.equal(isTestEvent(event), false);
    const marked = structuredClone(event);
    marked.eventDescriptor.testEvent = 'true';
    assert.equal(isTestEvent(marked), true);
    marked.eventDescriptor.testEvent = 'anything';
    assert.equal(isTestEvent(marked), true, 'any value other than false');
  });
});

describe('2.0b VEN report rules', () => {
  const request = (specifier: string, rIDs: string[], granularity = 60, back = 300): ReportRequest => ({
    reportRequestID: 'req-1',
    reportSpecifier: {
      reportSpecifierID: specifier,
      granularity,
      reportBackDuration: back,
      reportInterval: { dtstart: T0, duration: 3600 },
      specifierPayload: rIDs.map((rID) => ({ rID, readingType: 'Direct Read' })),
    },
  });

  test('metadata reports carry reportRequestID 0 (rule 311)', () => {
    const reports = metadataReports(TEST_REPORTS, T0);
    assert.deepEqual(
      reports.map((r) => [r.reportSpecifierID, r.reportRequestID, r.reportName]),
      [
        ['telemetry-usage', '0', 'METADATA_TELEMETRY_USAGE'],
        ['telemetry-status', '0', 'METADATA_TELEMETRY_STATUS'],
      ],
    );
    assert.equal(dataReportName('METADATA_TELEMETRY_STATUS'), 'TELEMETRY_STATUS');
  });

  test('requests are checked against the metadata', () => {
    const accepted = checkReportRequest(request('telemetry-usage', [USAGE_RID, 'nope']), TEST_REPORTS);
    assert.equal(accepted.kind, 'accepted');
    if (accepted.kind !== 'accepted') return;
    assert.deepEqual(accepted.request.rIds, [USAGE_RID], 'unknown rIDs are dropped');
    assert.equal(accepted.request.start, T0);
    assert.equal(accepted.request.end, T0 + 3_600_000);
    assert.equal(samplesPerReport(accepted.request), 5);
    assert.equal(isOneShot(accepted.request), false);
    assert.equal(checkReportRequest(request('telemetry-usage', ['nope']), TEST_REPORTS).kind, 'refused');
    assert.equal(checkReportRequest(request('other', [USAGE_RID]), TEST_REPORTS).kind, 'refused');
    assert.equal(checkReportRequest(request('METADATA', []), TEST_REPORTS).kind, 'metadata');
  });

  test('an update report from samples', () => {
    const check = checkReportRequest(request('telemetry-status', [STATUS_RID], 60, 120), TEST_REPORTS);
    assert.equal(check.kind, 'accepted');
    if (check.kind !== 'accepted') return;
    const report = updateReport(
      check.request,
      [
        {
          at: T0,
          samples: [
            {
              rID: STATUS_RID,
              value: { kind: 'oadrPayloadResourceStatus', oadrOnline: true, oadrManualOverride: false },
            },
          ],
        },
        { at: T0 + 60_000, samples: [] },
        { at: T0 + 120_000, samples: [{ rID: 'other', value: 1 }] },
      ],
      'report-1',
      T0 + 120_000,
    );
    assert.ok(report);
    assert.equal(report.reportName, 'TELEMETRY_STATUS');
    assert.equal(report.reportRequestID, 'req-1');
    assert.equal(report.intervals?.length, 1, 'intervals without a sample of the request are left out');
    assert.equal(report.intervals?.[0]?.duration, 60);
    assert.equal(updateReport(check.request, [{ at: T0, samples: [] }], 'r', T0), undefined);
  });
});
