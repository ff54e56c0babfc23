/**
 * The 2.0b VEN against the test VTN (support/test-vtn.ts) over real sockets on 127.0.0.1, plain HTTP: the
 * registration sequence, an event answered once with optIn, a modification answered once more, periodic reports
 * with the requested rIDs, a cancellation, an implicit cancellation, a re-registration request, an EiOpt opt-out
 * schedule and its cancellation, a restart without a duplicate oadrCreatedEvent, the VTN cancelling the
 * registration, and a VTN that fails (HTTP 500, garbage, error codes) without the VEN crashing. Every message
 * the VEN sends is checked against the 2.0b XSDs (skipped without xmllint). The VEN's timers are kept slow
 * (poll every hour) and the test drives it with pollNow(), so no assertion depends on timing.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { GridseamError } from '@gridseam/model';
import type { OadrMessageOf } from '../../../src/v2b/codec/index.ts';
import {
  createVen2b,
  MemoryVen2bStateStore,
  type Ven2b,
  type Ven2bEvent,
  type Ven2bOptions,
} from '../../../src/v2b/ven/index.ts';
import { type StartedTestVtn, startTestVtn, testEvent } from '../support/test-vtn.ts';
import { STATUS_RID, TEST_REPORTS, testTelemetry, USAGE_RID, waitFor } from '../support/ven-fixtures.ts';
import { xsdValidator } from '../support/xsd.ts';

const validate = await xsdValidator();

interface Harness {
  vtn: StartedTestVtn;
  ven: Ven2b;
  errors: GridseamError[];
  changes: Ven2bEvent[][];
}

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function harness(
  vtnOptions: Parameters<typeof startTestVtn>[0] = {},
  venOptions: Partial<Ven2bOptions> = {},
): Promise<Harness> {
  const vtn = await startTestVtn({ ...(validate ? { validate } : {}), reportSeconds: 1, ...vtnOptions });
  open.push(() => vtn.close());
  const ven = createVen2b({
    vtnUrl: vtn.url,
    venName: 'gridseam-test',
    pollSeconds: 3600,
    retrySeconds: 3600,
    reports: TEST_REPORTS,
    telemetry: testTelemetry,
    ...venOptions,
  });
  open.push(() => ven.stop());
  const errors: GridseamError[] = [];
  const changes: Ven2bEvent[][] = [];
  ven.on('error', (error) => errors.push(error));
  ven.on('events', (changed) => changes.push([...changed]));
  return { vtn, ven, errors, changes };
}

function createdEvents(vtn: StartedTestVtn): Array<OadrMessageOf<'oadrCreatedEvent'>> {
  return vtn.received
    .filter((r) => r.type === 'oadrCreatedEvent')
    .map((r) => r.message as OadrMessageOf<'oadrCreatedEvent'>);
}

describe('2.0b VEN against the test VTN (plain HTTP)', () => {
  test('registration: query, create, register reports (rule 311), created report, request events', async () => {
    const { vtn, ven, errors } = await harness();
    await ven.start();
    assert.deepEqual(errors, []);
    assert.deepEqual(vtn.sentTypes({ withPolls: true }), [
      'oadrQueryRegistration',
      'oadrCreatePartyRegistration',
      'oadrRegisterReport',
      'oadrCreatedReport',
      'oadrRequestEvent',
      'oadrPoll',
    ]);
    const registration = ven.registration();
    assert.equal(registration?.venId, vtn.ven().venId);
    assert.equal(registration?.registrationId, vtn.ven().registrationId);
    assert.equal(registration?.vtnId, 'TEST_VTN');
    assert.equal(registration?.pollSeconds, 3600, 'pollSeconds overrides the VTN frequency');
    const create = vtn.received[1]?.message as OadrMessageOf<'oadrCreatePartyRegistration'>;
    assert.equal(create.oadrVenName, 'gridseam-test');
    assert.equal(create.oadrProfileName, '2.0b');
    assert.equal(create.oadrTransportName, 'simpleHttp');
    assert.equal(create.oadrHttpPullModel, true);
    assert.equal(create.oadrXmlSignature, false);
    assert.equal(create.registrationID, undefined, 'a first registration has no registrationID');
    const register = vtn.received[2]?.message as OadrMessageOf<'oadrRegisterReport'>;
    assert.deepEqual(
      register.oadrReport?.map((r) => [r.reportName, r.reportRequestID]),
      [
        ['METADATA_TELEMETRY_USAGE', '0'],
        ['METADATA_TELEMETRY_STATUS', '0'],
      ],
    );
    const created = vtn.received[3]?.message as OadrMessageOf<'oadrCreatedReport'>;
    assert.equal(created.eiResponse.responseCode, 200);
    assert.deepEqual([...created.oadrPendingReports].sort(), [...vtn.ven().requests.keys()].sort());
    assert.equal(ven.reportRuns().length, 2);
    assert.deepEqual(vtn.problems(), []);
  });

  test('an event is answered once with optIn; a modification once more; reports carry the rIDs', async () => {
    const decided: string[] = [];
    const { vtn, ven, errors, changes } = await harness(
      {},
      {
        decideOpt: (event) => {
          decided.push(`${event.eventId}#${event.modificationNumber}`);
          return 'optIn';
        },
      },
    );
    await ven.start();
    const venId = vtn.ven().venId;
    const start = Date.now() + 3_600_000;
    const event = testEvent({ eventId: 'ev-1', start, durationS: 1800, values: [2], venId });
    vtn.putEvent(venId, event);
    await ven.pollNow();
    await ven.pollNow(); // nothing queued: nothing more to answer
    let answers = createdEvents(vtn);
    assert.equal(answers.length, 1, 'one oadrCreatedEvent');
    assert.deepEqual(
      answers[0]?.eventResponses?.map((r) => [
        r.qualifiedEventID.eventID,
        r.qualifiedEventID.modificationNumber,
        r.optType,
      ]),
      [['ev-1', 0, 'optIn']],
    );
    const known = ven.event('ev-1');
    assert.equal(known?.status, 'far');
    assert.equal(known?.optType, 'optIn');

    // The same distribution again (no change): not answered again.
    vtn.queue(venId, {
      type: 'oadrDistributeEvent',
      requestID: 'again',
      vtnID: vtn.vtnId,
      oadrEvent: [...vtn.ven().events.values()],
    });
    await ven.pollNow();
    assert.equal(createdEvents(vtn).length, 1, 'an unchanged modification is not answered twice');

    vtn.modifyEvent(venId, 'ev-1', (e) => {
      const interval = e.eiEventSignals[0]?.intervals[0];
      if (interval) interval.signalPayload = 3;
    });
    await ven.pollNow();
    await ven.pollNow();
    answers = createdEvents(vtn);
    assert.equal(answers.length, 2, 'the modification is answered once');
    assert.equal(answers[1]?.eventResponses?.[0]?.qualifiedEventID.modificationNumber, 1);
    assert.deepEqual(decided, ['ev-1#0', 'ev-1#1']);
    assert.ok(changes.some((batch) => batch.some((e) => e.eventId === 'ev-1' && e.modificationNumber === 1)));

    // Periodic reports: TELEMETRY_USAGE and TELEMETRY_STATUS with the requested rIDs and request IDs.
    await waitFor(() => {
      const names = new Set(vtn.ven().updates.map((u) => u.reportName));
      return names.has('TELEMETRY_USAGE') && names.has('TELEMETRY_STATUS') ? true : undefined;
    }, 'both telemetry reports');
    for (const update of vtn.ven().updates) {
      const request = vtn.ven().requests.get(update.reportRequestID);
      assert.ok(request, `report for a requested reportRequestID ${update.reportRequestID}`);
      assert.equal(update.reportSpecifierID, request.reportSpecifier.reportSpecifierID);
      const rIDs = (update.intervals ?? []).flatMap((i) => i.oadrReportPayload.map((p) => p.rID));
      assert.ok(rIDs.length > 0);
      const expected = update.reportName === 'TELEMETRY_USAGE' ? USAGE_RID : STATUS_RID;
      assert.ok(
        rIDs.every((rID) => rID === expected),
        `${update.reportName}: ${rIDs.join(',')}`,
      );
    }
    const usage = vtn.ven().updates.find((u) => u.reportName === 'TELEMETRY_USAGE');
    assert.deepEqual(usage?.intervals?.[0]?.oadrReportPayload[0]?.payload, { kind: 'payloadFloat', value: 1500 });
    const status = vtn.ven().updates.find((u) => u.reportName === 'TELEMETRY_STATUS');
    assert.deepEqual(status?.intervals?.[0]?.oadrReportPayload[0]?.payload, {
      kind: 'oadrPayloadResourceStatus',
      oadrOnline: true,
      oadrManualOverride: false,
    });

    // Cancellation: answered (new modification), status cancelled.
    vtn.cancelEvent(venId, 'ev-1');
    await ven.pollNow();
    answers = createdEvents(vtn);
    assert.equal(answers.length, 3);
    assert.equal(answers[2]?.eventResponses?.[0]?.qualifiedEventID.modificationNumber, 2);
    assert.equal(ven.event('ev-1')?.status, 'cancelled');
    assert.deepEqual(decided, ['ev-1#0', 'ev-1#1'], 'a cancellation is not a new decision');
    assert.deepEqual(errors, []);
    assert.deepEqual(vtn.problems(), []);
  });

  test('an event that vanishes from the distribution counts as cancelled; an active one is active', async () => {
    const { vtn, ven } = await harness();
    await ven.start();
    const venId = vtn.ven().venId;
    vtn.putEvent(venId, testEvent({ eventId: 'a', start: Date.now() - 60_000, durationS: 3600 }));
    vtn.putEvent(venId, testEvent({ eventId: 'b', start: Date.now() + 600_000, durationS: 3600 }));
    await ven.pollNow();
    assert.equal(ven.event('a')?.status, 'active');
    assert.equal(ven.event('b')?.status, 'far');
    vtn.dropEvent(venId, 'a');
    vtn.modifyEvent(venId, 'b', () => undefined);
    await ven.pollNow();
    assert.equal(ven.event('a')?.status, 'cancelled');
    assert.equal(ven.event('a')?.implicitlyCancelled, true);
    assert.equal(ven.event('b')?.status, 'far');
  });

  test('oadrRequestReregistration: oadrResponse, then the same registration again and reports again', async () => {
    const { vtn, ven, errors } = await harness();
    await ven.start();
    const { venId, registrationId } = vtn.ven();
    const before = vtn.received.length;
    vtn.queue(venId, { type: 'oadrRequestReregistration', venID: venId });
    await ven.pollNow();
    // Report timers may interleave oadrUpdateReports; the sequence is about the rest.
    const after = vtn.received
      .slice(before)
      .map((r) => r.type)
      .filter((t) => t !== 'oadrUpdateReport');
    assert.deepEqual(after.slice(0, 7), [
      'oadrPoll',
      'oadrResponse',
      'oadrCreatePartyRegistration',
      'oadrRegisterReport',
      'oadrCreatedReport',
      'oadrRequestEvent',
      'oadrPoll',
    ]);
    const create = vtn.received.slice(before).find((r) => r.type === 'oadrCreatePartyRegistration')
      ?.message as OadrMessageOf<'oadrCreatePartyRegistration'>;
    assert.equal(create.registrationID, registrationId, 're-registration names the registration');
    assert.equal(ven.registration()?.venId, venId);
    assert.equal(vtn.vens.size, 1);
    assert.deepEqual(errors, []);
    assert.deepEqual(vtn.problems(), []);
  });

  test('EiOpt: an opt-out schedule opts out of the events it covers; cancelling it opts back in', async () => {
    const { vtn, ven, errors } = await harness();
    await ven.start();
    const venId = vtn.ven().venId;
    const start = Date.now() + 7_200_000;
    const doc = await ven.createOptSchedule({
      optType: 'optOut',
      optReason: 'x-schedule',
      windows: [{ start: start - 600_000, durationS: 3600 }],
    });
    assert.equal(doc.state, 'created');
    const sent = vtn.received.find((r) => r.type === 'oadrCreateOpt')?.message as OadrMessageOf<'oadrCreateOpt'>;
    assert.equal(sent.optType, 'optOut');
    assert.deepEqual(sent.vavailability, [{ dtstart: start - 600_000, duration: 3600 }]);
    assert.deepEqual(sent.eiTarget.venID, [venId]);
    assert.ok(vtn.ven().opts.has(doc.optId));

    vtn.putEvent(venId, testEvent({ eventId: 'covered', start, durationS: 1800 }));
    vtn.putEvent(venId, testEvent({ eventId: 'free', start: start + 7_200_000, durationS: 1800 }));
    await ven.pollNow();
    const responses = vtn.ven().eventResponses;
    assert.deepEqual(responses.map((r) => [r.eventID, r.optType]).sort(), [
      ['covered', 'optOut'],
      ['free', 'optIn'],
    ]);
    assert.equal(ven.event('covered')?.optSource, 'schedule');

    await ven.cancelOpt(doc.optId);
    assert.ok(vtn.received.some((r) => r.type === 'oadrCancelOpt'));
    assert.equal(vtn.ven().opts.size, 0);
    assert.deepEqual(ven.opts(), []);
    assert.equal(ven.event('covered')?.optType, 'optOut', 'the answer given stays until opted again');

    // A per-event opt (oadrCreateOpt with qualifiedEventID).
    const perEvent = await ven.optEvent('covered', 'optIn');
    const perEventSent = vtn.ven().opts.get(perEvent.optId);
    assert.deepEqual(perEventSent?.qualifiedEventID, { eventID: 'covered', modificationNumber: 0 });
    assert.equal(ven.event('covered')?.optType, 'optIn');
    assert.equal(ven.event('covered')?.optSource, 'opt');
    assert.deepEqual(errors, []);
    assert.deepEqual(vtn.problems(), []);
  });

  test('a restart answers nothing twice (state store)', async () => {
    const store = new MemoryVen2bStateStore();
    const first = await harness({}, { store });
    await first.ven.start();
    const venId = first.vtn.ven().venId;
    first.vtn.putEvent(
      venId,
      testEvent({ eventId: 'persist', start: Date.now() + 600_000, durationS: 600, startafterS: 120 }),
    );
    await first.ven.pollNow();
    assert.equal(createdEvents(first.vtn).length, 1);
    const offset = first.ven.event('persist')?.startOffsetS;
    await first.ven.stop();

    const second = createVen2b({
      vtnUrl: first.vtn.url,
      venName: 'gridseam-test',
      pollSeconds: 3600,
      reports: TEST_REPORTS,
      telemetry: testTelemetry,
      store,
    });
    open.push(() => second.stop());
    await second.start();
    assert.equal(second.registration()?.venId, venId, 'the stored registration is re-used');
    const creates = first.vtn.received.filter((r) => r.type === 'oadrCreatePartyRegistration');
    const lastCreate = creates.at(-1)?.message as OadrMessageOf<'oadrCreatePartyRegistration'>;
    assert.equal(lastCreate.registrationID, first.vtn.ven().registrationId);
    assert.equal(second.event('persist')?.optType, 'optIn', 'known again from oadrRequestEvent');
    assert.equal(second.event('persist')?.startOffsetS, offset, 'the randomisation draw survives');
    await second.pollNow();
    assert.equal(createdEvents(first.vtn).length, 1, 'no second oadrCreatedEvent after the restart');
  });

  test('a pending answer (VTN unreachable when it was due) is sent after a restart', async () => {
    const store = new MemoryVen2bStateStore();
    let refuse = false;
    const h = await harness(
      { intercept: (_service, message) => (refuse && message.type === 'oadrCreatedEvent' ? 503 : undefined) },
      { store },
    );
    await h.ven.start();
    const venId = h.vtn.ven().venId;
    refuse = true;
    h.vtn.putEvent(venId, testEvent({ eventId: 'pending', start: Date.now() + 600_000, durationS: 600 }));
    await h.ven.pollNow();
    assert.equal(h.vtn.ven().eventResponses.length, 0);
    assert.ok(h.errors.some((e) => e.code === 'GW_ERR_DEVICE_REJECTED'));
    await h.ven.stop();
    refuse = false;
    const again = createVen2b({ vtnUrl: h.vtn.url, venName: 'gridseam-test', pollSeconds: 3600, store });
    open.push(() => again.stop());
    await again.start();
    assert.deepEqual(
      h.vtn.ven().eventResponses.map((r) => r.eventID),
      ['pending'],
      'sent once after the restart',
    );
    await again.pollNow();
    assert.equal(h.vtn.ven().eventResponses.length, 1);
  });

  test('the VTN cancels the registration: oadrCanceledPartyRegistration, then unregistered', async () => {
    const { vtn, ven, changes } = await harness();
    await ven.start();
    const { venId, registrationId } = vtn.ven();
    vtn.putEvent(venId, testEvent({ eventId: 'live', start: Date.now() + 600_000, durationS: 600 }));
    await ven.pollNow();
    vtn.queue(venId, {
      type: 'oadrCancelPartyRegistration',
      requestID: 'cancel-1',
      registrationID: registrationId,
      venID: venId,
    });
    await ven.pollNow();
    const answer = vtn.received.find((r) => r.type === 'oadrCanceledPartyRegistration')
      ?.message as OadrMessageOf<'oadrCanceledPartyRegistration'>;
    assert.equal(answer.eiResponse.responseCode, 200);
    assert.equal(answer.eiResponse.requestID, 'cancel-1');
    assert.equal(answer.registrationID, registrationId);
    assert.equal(ven.registration(), undefined);
    assert.equal(ven.event('live')?.status, 'cancelled');
    assert.ok(changes.flat().some((e) => e.eventId === 'live' && e.status === 'cancelled'));
    const polls = vtn.received.filter((r) => r.type === 'oadrPoll').length;
    await ven.pollNow();
    assert.equal(vtn.received.filter((r) => r.type === 'oadrPoll').length, polls, 'no polling while cancelled');
    await ven.register();
    assert.ok(ven.registration(), 'registered again on request');
    assert.deepEqual(vtn.problems(), []);
  });

  test('the VEN cancels its registration', async () => {
    const { vtn, ven } = await harness();
    await ven.start();
    await ven.cancelRegistration();
    assert.equal(ven.registration(), undefined);
    assert.equal(vtn.vens.size, 0);
    assert.ok(vtn.received.some((r) => r.type === 'oadrCancelPartyRegistration'));
    assert.deepEqual(vtn.problems(), []);
  });

  test('oadrCreateReport (one-shot and periodic) and oadrCancelReport with reportToFollow', async () => {
    // No report requests at registration: the VTN asks later through oadrPoll.
    const { vtn, ven, errors } = await harness({ requestReports: () => [] });
    await ven.start();
    assert.equal(ven.reportRuns().length, 0);
    const venId = vtn.ven().venId;
    const spec = (id: string, rID: string, granularity: number, reportBackDuration: number) => ({
      reportRequestID: id,
      reportSpecifier: {
        reportSpecifierID: rID === USAGE_RID ? 'telemetry-usage' : 'telemetry-status',
        granularity,
        reportBackDuration,
        specifierPayload: [{ rID, readingType: 'x-notApplicable' as const }],
      },
    });
    vtn.queue(venId, {
      type: 'oadrCreateReport',
      requestID: 'create-1',
      oadrReportRequest: [spec('one-shot', STATUS_RID, 0, 0), spec('periodic', USAGE_RID, 1, 2)],
      venID: venId,
    });
    await ven.pollNow();
    const created = vtn.received.find((r) => r.type === 'oadrCreatedReport')
      ?.message as OadrMessageOf<'oadrCreatedReport'>;
    assert.equal(created.eiResponse.requestID, 'create-1');
    assert.ok(created.oadrPendingReports.includes('periodic'));
    await waitFor(
      () => (vtn.ven().updates.some((u) => u.reportRequestID === 'one-shot') ? true : undefined),
      'the one-shot status report',
    );
    const periodic = await waitFor(
      () => vtn.ven().updates.find((u) => u.reportRequestID === 'periodic'),
      'a periodic usage report',
    );
    assert.equal(periodic.intervals?.length, 2, 'reportBackDuration 2 s / granularity 1 s: two intervals');
    assert.deepEqual(
      ven.reportRuns().map((r) => r.reportRequestId),
      ['periodic'],
      'the one-shot request is done',
    );

    // An unknown specifier is refused with 452 (nothing else was asked in that request).
    vtn.queue(venId, {
      type: 'oadrCreateReport',
      requestID: 'create-2',
      oadrReportRequest: [
        {
          reportRequestID: 'bogus',
          reportSpecifier: {
            reportSpecifierID: 'no-such-report',
            granularity: 1,
            reportBackDuration: 1,
            specifierPayload: [{ rID: 'x', readingType: 'Direct Read' }],
          },
        },
      ],
      venID: venId,
    });
    await ven.pollNow();
    const refused = vtn.received.filter((r) => r.type === 'oadrCreatedReport').at(-1)
      ?.message as OadrMessageOf<'oadrCreatedReport'>;
    assert.equal(refused.eiResponse.responseCode, 452);
    assert.deepEqual(refused.oadrPendingReports, ['periodic']);

    const before = vtn.ven().updates.length;
    vtn.queue(venId, {
      type: 'oadrCancelReport',
      requestID: 'cancel-report',
      reportRequestID: ['periodic'],
      reportToFollow: true,
      venID: venId,
    });
    await ven.pollNow();
    const canceled = vtn.received.find((r) => r.type === 'oadrCanceledReport')
      ?.message as OadrMessageOf<'oadrCanceledReport'>;
    assert.equal(canceled.eiResponse.requestID, 'cancel-report');
    assert.deepEqual(canceled.oadrPendingReports, []);
    assert.ok(vtn.ven().updates.length > before, 'reportToFollow: a last report was sent');
    assert.deepEqual(ven.reportRuns(), []);
    assert.deepEqual(errors, []);
    assert.deepEqual(vtn.problems(), []);
  });

  test('VTN failures (HTTP 500, garbage, error codes, refused connection) are reported, never thrown', async () => {
    let mode: 'http500' | 'garbage' | 'code' | 'ok' = 'http500';
    const h = await harness({
      intercept: (_service, message) => {
        if (mode === 'http500') return 500;
        if (mode === 'code' && message.type === 'oadrCreatePartyRegistration')
          return {
            type: 'oadrCreatedPartyRegistration',
            eiResponse: { responseCode: 469, responseDescription: 'busy', requestID: message.requestID },
            vtnID: 'TEST_VTN',
            oadrProfiles: [{ oadrProfileName: '2.0b', oadrTransports: ['simpleHttp'] }],
          };
        return undefined;
      },
    });
    await h.ven.start();
    assert.equal(h.ven.registration(), undefined);
    assert.equal(h.errors.at(-1)?.code, 'GW_ERR_DEVICE_REJECTED');
    mode = 'code';
    await h.ven.pollNow();
    assert.match(h.errors.at(-1)?.message ?? '', /469/);
    mode = 'ok';
    await h.ven.pollNow();
    assert.ok(h.ven.registration(), 'registered once the VTN recovers');

    // A VTN that is gone: connection refused.
    const gone = createVen2b({ vtnUrl: 'http://127.0.0.1:9', venName: 'x', retrySeconds: 3600 });
    const errors: GridseamError[] = [];
    gone.on('error', (e) => errors.push(e));
    await gone.start();
    await gone.stop();
    assert.equal(errors[0]?.code, 'GW_ERR_DEVICE_UNREACHABLE');
  });

  test('a hostile answer (DOCTYPE) is refused with GW_ERR_HOSTILE_INPUT', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push(() => new Promise((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const ven = createVen2b({ vtnUrl: `http://127.0.0.1:${port}`, venName: 'x', retrySeconds: 3600 });
    const errors: GridseamError[] = [];
    ven.on('error', (e) => errors.push(e));
    await ven.start();
    await ven.stop();
    assert.equal(errors[0]?.code, 'GW_ERR_HOSTILE_INPUT');
  });
});
