/**
 * The VEN answers the captured VTN messages as the capture shows a VEN must (samples-2.0b, OpenLEADR 0.5.34 VTN
 * and VEN on loopback). A scripted VTN answers each request of our VEN with the captured answer to the captured
 * request of the same type (in capture order); the VEN is configured with the metadata the captured VEN offered
 * and a clock at the capture's time. Compared: the sequence of message types our VEN sends (oadrPoll and
 * oadrUpdateReport are timer-driven and compared on their own), and the content the capture fixes (venName,
 * reportRequestID 0, the pending report, the eventResponse, the report's rID / reportRequestID / specifier).
 *
 * One deliberate difference: the capture's VEN answers the unchanged event a second time when the VTN
 * distributes it again through oadrPoll (vtn-008). Our VEN answers a modification once (EPRI's VEN does the
 * same) unless `answerRepeats` is on; both are checked. `mtls-signed` replays the signed capture with the VEN
 * verifying every answer against the certificate the capture's VTN signed with.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type OadrMessage, type OadrMessageOf, parseOadr, parseOadrEnvelope } from '../../../src/v2b/codec/index.ts';
import { createVen2b, type Ven2bReportMetadata } from '../../../src/v2b/ven/index.ts';
import { waitFor } from '../support/ven-fixtures.ts';
import { SAMPLES_DIR, sharedSkipReason, xsdValidator } from '../support/xsd.ts';

const skip = sharedSkipReason() ?? false;
const validate = await xsdValidator();
/** Message types a VEN sends on its own timers rather than in answer to something. */
const TIMER_DRIVEN: ReadonlySet<string> = new Set(['oadrPoll', 'oadrUpdateReport']);

interface CapturedExchange {
  index: number;
  request: OadrMessage;
  answerXml: string;
}

function loadCapture(folder: string): CapturedExchange[] {
  const dir = join(SAMPLES_DIR, folder);
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml'));
  const exchanges: CapturedExchange[] = [];
  for (const file of files.filter((f) => f.startsWith('vtn-')).sort()) {
    const index = Number(file.slice(4, 7));
    const answerFile = files.find((f) => f.startsWith(`ven-${file.slice(4, 7)}-`));
    assert.ok(answerFile, `the capture answers ${file}`);
    exchanges.push({
      index,
      request: parseOadr(readFileSync(join(dir, file), 'utf8')),
      answerXml: readFileSync(join(dir, answerFile), 'utf8'),
    });
  }
  return exchanges;
}

/** The captured VEN's metadata (its oadrRegisterReport) as our VEN's configuration. */
function capturedMetadata(capture: readonly CapturedExchange[]): Ven2bReportMetadata[] {
  const register = capture.find((e) => e.request.type === 'oadrRegisterReport')?.request as
    | OadrMessageOf<'oadrRegisterReport'>
    | undefined;
  assert.ok(register?.oadrReport);
  return register.oadrReport.map((report) => ({
    reportSpecifierId: report.reportSpecifierID,
    reportName: report.reportName ?? 'METADATA_TELEMETRY_USAGE',
    ...(report.duration === undefined ? {} : { durationS: report.duration }),
    descriptions: report.oadrReportDescription ?? [],
  }));
}

interface ReplayRun {
  sent: Array<{ type: OadrMessage['type']; message: OadrMessage; problems: readonly string[] }>;
  unanswered: string[];
}

async function replay(
  folder: string,
  options: { answerRepeats: boolean; verifyWith?: string[] },
): Promise<{ run: ReplayRun; capture: CapturedExchange[] }> {
  const capture = loadCapture(folder);
  const used = new Set<number>();
  const run: ReplayRun = { sent: [], unanswered: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const xml = Buffer.concat(chunks).toString('utf8');
      const message = parseOadr(xml);
      run.sent.push({ type: message.type, message, problems: validate ? validate(xml) : [] });
      const next = capture.find((e) => !used.has(e.index) && e.request.type === message.type);
      if (next === undefined) {
        run.unanswered.push(message.type);
        res.writeHead(503);
        res.end();
        return;
      }
      used.add(next.index);
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(next.answerXml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  // The capture's clock: its event (start 07:41:44, 10 min) is still ahead when it is distributed.
  const registeredReport = capture.find((e) => e.request.type === 'oadrRegisterReport');
  assert.ok(registeredReport);
  const captureStart = (registeredReport.request as OadrMessageOf<'oadrRegisterReport'>).oadrReport?.[0]
    ?.createdDateTime;
  assert.ok(captureStart);
  const offset = captureStart - Date.now();
  const metadata = capturedMetadata(capture);
  const ven = createVen2b({
    vtnUrl: `http://127.0.0.1:${port}/OpenADR2/Simple/2.0b`,
    venName: 'ven123',
    pollSeconds: 3600,
    retrySeconds: 3600,
    reports: metadata,
    telemetry: (request) => request.rIds.map((rID) => ({ rID, value: 230.11 })),
    answerRepeats: options.answerRepeats,
    now: () => Date.now() + offset,
    ...(options.verifyWith === undefined
      ? {}
      : { verification: { trustedCerts: options.verifyWith, requireSignatures: true } }),
  });
  const errors: string[] = [];
  ven.on('error', (error) => errors.push(`${error.code}: ${error.message}`));
  try {
    await ven.start(); // registration, reports, oadrRequestEvent, first poll
    await ven.pollNow(); // the poll that brings the event again
    await waitFor(
      () => (run.sent.some((s) => s.type === 'oadrUpdateReport') ? true : undefined),
      'a periodic report (the capture reports every 5 s)',
    );
  } finally {
    await ven.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  assert.deepEqual(errors, []);
  return { run, capture };
}

function withoutTimers(types: readonly string[]): string[] {
  return types.filter((t) => !TIMER_DRIVEN.has(t));
}

describe('2.0b VEN replaying the captured OpenLEADR traffic', { skip }, () => {
  for (const answerRepeats of [false, true])
    test(`plain-http: the VEN answers each VTN message as captured (answerRepeats ${answerRepeats})`, async () => {
      const { run, capture } = await replay('plain-http', { answerRepeats });
      const captured = withoutTimers(capture.map((e) => e.request.type));
      const expected = answerRepeats
        ? captured
        : captured.filter(
            (_type, i) =>
              !(i === captured.lastIndexOf('oadrCreatedEvent') && i !== captured.indexOf('oadrCreatedEvent')),
          );
      assert.deepEqual(withoutTimers(run.sent.map((s) => s.type)), expected);
      assert.deepEqual(run.unanswered, []);
      assert.deepEqual(
        run.sent.flatMap((s) => s.problems.map((p) => `${s.type}: ${p}`)),
        [],
        'every message the VEN sent is XSD-valid',
      );

      const create = run.sent.find((s) => s.type === 'oadrCreatePartyRegistration')
        ?.message as OadrMessageOf<'oadrCreatePartyRegistration'>;
      assert.equal(create.oadrVenName, 'ven123');
      assert.equal(create.oadrHttpPullModel, true);
      const register = run.sent.find((s) => s.type === 'oadrRegisterReport')
        ?.message as OadrMessageOf<'oadrRegisterReport'>;
      assert.equal(register.venID, 'VEN_ID_0001');
      assert.deepEqual(
        register.oadrReport?.map((r) => r.reportRequestID),
        ['0'],
      );
      const createdReport = run.sent.find((s) => s.type === 'oadrCreatedReport')
        ?.message as OadrMessageOf<'oadrCreatedReport'>;
      const capturedCreatedReport = capture.find((e) => e.request.type === 'oadrCreatedReport')
        ?.request as OadrMessageOf<'oadrCreatedReport'>;
      assert.deepEqual(createdReport.oadrPendingReports, capturedCreatedReport.oadrPendingReports);
      assert.equal(createdReport.eiResponse.requestID, capturedCreatedReport.eiResponse.requestID);

      const createdEvents = run.sent
        .filter((s) => s.type === 'oadrCreatedEvent')
        .map((s) => s.message as OadrMessageOf<'oadrCreatedEvent'>);
      const capturedEvents = capture
        .filter((e) => e.request.type === 'oadrCreatedEvent')
        .map((e) => e.request as OadrMessageOf<'oadrCreatedEvent'>);
      createdEvents.forEach((sent, i) => {
        const want = capturedEvents[i]?.eventResponses?.[0];
        const got = sent.eventResponses?.[0];
        assert.ok(want && got);
        assert.deepEqual(got.qualifiedEventID, want.qualifiedEventID);
        assert.equal(got.optType, want.optType);
        assert.equal(got.requestID, want.requestID, 'answers the distribution it got');
        assert.equal(sent.venID, 'VEN_ID_0001');
      });

      const update = run.sent.find((s) => s.type === 'oadrUpdateReport')?.message as OadrMessageOf<'oadrUpdateReport'>;
      const capturedUpdate = capture.find((e) => e.request.type === 'oadrUpdateReport')
        ?.request as OadrMessageOf<'oadrUpdateReport'>;
      const report = update.oadrReport?.[0];
      const want = capturedUpdate.oadrReport?.[0];
      assert.ok(report && want);
      assert.equal(report.reportRequestID, want.reportRequestID);
      assert.equal(report.reportSpecifierID, want.reportSpecifierID);
      assert.equal(report.reportName, want.reportName);
      assert.deepEqual(
        report.intervals?.flatMap((i) => i.oadrReportPayload.map((p) => [p.rID, p.payload])),
        want.intervals?.flatMap((i) => i.oadrReportPayload.map((p) => [p.rID, p.payload])),
      );
    });

  test('mtls-signed: the signed answers verify against the capture VTN certificate and are answered alike', async () => {
    const dir = join(SAMPLES_DIR, 'mtls-signed');
    const first = readdirSync(dir).find((f) => f.startsWith('ven-001'));
    assert.ok(first);
    const xml = readFileSync(join(dir, first), 'utf8');
    const base64 = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(xml)?.[1];
    assert.ok(base64);
    const pem = `-----BEGIN CERTIFICATE-----\n${base64
      .replace(/\s+/g, '')
      .replace(/(.{64})/g, '$1\n')
      .trim()}\n-----END CERTIFICATE-----\n`;
    assert.equal(parseOadrEnvelope(xml).signed, true);
    const { run, capture } = await replay('mtls-signed', { answerRepeats: true, verifyWith: [pem] });
    assert.deepEqual(withoutTimers(run.sent.map((s) => s.type)), withoutTimers(capture.map((e) => e.request.type)));
    assert.deepEqual(run.unanswered, []);
  });
});
