import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  emitOadr,
  emitOadrItemBase,
  type OadrMessage,
  parseOadr,
  parseOadrEnvelope,
  parseOadrItemBase,
} from '../../../src/v2b/codec/index.ts';
import {
  EPRI_FIXTURES_DIR,
  SAMPLES_DIR,
  sharedSkipReason,
  validateOadrBatch,
  xsdSkipReason,
} from '../../helpers/xsd.ts';

/**
 * The captured OpenLEADR traffic (samples-2.0b, 44 plain HTTP + 44 signed) and the EPRI VEN library fixtures
 * (24 schema-valid, 4 not) parse; what we parse re-emits schema-valid and parses back to the same value.
 */

const skip = sharedSkipReason();

function listXml(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listXml(path));
    else if (entry.name.endsWith('.xml')) out.push(path);
  }
  return out.sort();
}

/** The four EPRI fixtures that fail oadr_20b.xsd, refused by the parser at the element xmllint names. */
const EPRI_NEGATIVE: Record<string, { path: string; reason: RegExp }> = {
  'expected_output/register_report1.xml': {
    path: 'oadrRegisterReport/oadrReport[0]/reportName',
    reason: /"MEDATA_DATA_TELEMETRY_STATUS" is not a valid reportName/,
  },
  'expected_output/RegisterReport_XMLOutput1.xml': {
    path: 'oadrRegisterReport/oadrReport[0]/oadrReportDescription[0]/energyReal/itemUnits',
    reason: /"kWh" is not the fixed itemUnits "Wh"/,
  },
  'expected_output/update_report2.xml': {
    path: 'oadrUpdateReport/oadrReport[0]/intervals/interval',
    reason: /required element ei:interval is missing/,
  },
  'test_input/created_party_registration-invalid-ven-name.xml': {
    path: 'oadrCreatedPartyRegistration/oadrRequestedOadrPollFreq/duration',
    reason: /"PTS" is not an ISO 8601 duration/,
  },
};

describe('captured OpenLEADR 2.0b traffic', { skip }, () => {
  const files =
    skip === undefined
      ? [...listXml(join(SAMPLES_DIR, 'plain-http')), ...listXml(join(SAMPLES_DIR, 'mtls-signed'))]
      : [];
  const parsed = new Map<string, OadrMessage>();

  test('all 88 messages parse as the type their file names', () => {
    assert.equal(files.length, 88);
    for (const file of files) {
      const name = relative(SAMPLES_DIR, file);
      const envelope = parseOadrEnvelope(readFileSync(file));
      const expected = /received-(\w+)\.xml$/.exec(file)?.[1];
      assert.equal(envelope.message.type, expected, name);
      assert.equal(envelope.signed, name.startsWith('mtls-signed'), name);
      assert.equal(envelope.signedObjectId, 'oadrSignedObject', name);
      parsed.set(name, envelope.message);
    }
    const types = new Set([...parsed.values()].map((m) => m.type));
    assert.equal(types.size, 13);
  });

  test('each re-emits and parses back to the same value', () => {
    for (const [name, message] of parsed) assert.deepEqual(parseOadr(emitOadr(message)), message, name);
  });

  test('the re-emitted messages validate against oadr_20b.xsd', (t) => {
    const reason = xsdSkipReason();
    if (reason !== undefined) return t.skip(reason);
    const names = [...parsed.keys()];
    const results = validateOadrBatch([...parsed.values()].map((m) => emitOadr(m)));
    for (const [i, r] of results.entries()) assert.ok(r.valid, `${names[i]}: ${r.errors.join('\n')}`);
  });

  test('the event the VTN distributed reads with epoch times and second durations', () => {
    const message = parseOadr(
      readFileSync(join(SAMPLES_DIR, 'plain-http', 'ven-005-received-oadrDistributeEvent.xml')),
      {
        expect: 'oadrDistributeEvent',
      },
    );
    const event = message.oadrEvent?.[0];
    assert.ok(event);
    assert.equal(message.vtnID, 'VTN_DEMO');
    assert.equal(event.eventDescriptor.eventStatus, 'far');
    assert.equal(event.eventDescriptor.modificationNumber, 0);
    assert.equal(event.eventDescriptor.testEvent, 'false');
    assert.equal(event.eiActivePeriod.dtstart, Date.parse('2026-11-27T07:41:44.487Z'));
    assert.equal(event.eiActivePeriod.duration, 600);
    assert.deepEqual(event.eiEventSignals[0]?.intervals, [
      { dtstart: Date.parse('2026-11-27T07:41:44.487Z'), duration: 600, uid: '0', signalPayload: 1 },
    ]);
    assert.equal(event.eiEventSignals[0]?.signalName, 'simple');
    assert.deepEqual(event.eiTarget, { venID: ['VEN_ID_0001'] });
    assert.equal(event.oadrResponseRequired, 'always');
  });

  test('registration, report registration and telemetry carry what the capture shows', () => {
    const registration = parseOadr(
      readFileSync(join(SAMPLES_DIR, 'plain-http', 'ven-002-received-oadrCreatedPartyRegistration.xml')),
      { expect: 'oadrCreatedPartyRegistration' },
    );
    assert.equal(registration.venID, 'VEN_ID_0001');
    assert.equal(registration.registrationID, 'REG_ID_0001');
    assert.equal(registration.oadrRequestedOadrPollFreq, 2);
    const query = parseOadr(
      readFileSync(join(SAMPLES_DIR, 'plain-http', 'ven-001-received-oadrCreatedPartyRegistration.xml')),
      {
        expect: 'oadrCreatedPartyRegistration',
      },
    );
    assert.equal(query.venID, '', 'the query answer carries an empty venID element');

    const create = parseOadr(
      readFileSync(join(SAMPLES_DIR, 'plain-http', 'vtn-002-received-oadrCreatePartyRegistration.xml')),
      {
        expect: 'oadrCreatePartyRegistration',
      },
    );
    assert.equal(create.oadrTransportAddress, 'None');
    assert.equal(create.oadrHttpPullModel, true);

    const register = parseOadr(
      readFileSync(join(SAMPLES_DIR, 'plain-http', 'vtn-003-received-oadrRegisterReport.xml')),
      {
        expect: 'oadrRegisterReport',
      },
    );
    const description = register.oadrReport?.[0]?.oadrReportDescription?.[0];
    assert.equal(register.oadrReport?.[0]?.reportRequestID, '0');
    assert.deepEqual(description?.itemBase, {
      kind: 'voltage',
      itemDescription: 'Voltage',
      itemUnits: 'V',
      siScaleCode: 'none',
    });
    assert.deepEqual(description?.oadrSamplingRate, { oadrMinPeriod: 5, oadrMaxPeriod: 5, oadrOnChange: false });

    const update = parseOadr(readFileSync(join(SAMPLES_DIR, 'plain-http', 'vtn-011-received-oadrUpdateReport.xml')), {
      expect: 'oadrUpdateReport',
    });
    assert.deepEqual(update.oadrReport?.[0]?.intervals?.[0]?.oadrReportPayload, [
      { rID: '9ab4bb47-18bd-450f-8438-724e25f0bff2', payload: { kind: 'payloadFloat', value: 230.11 } },
    ]);
    assert.equal(update.oadrReport?.[0]?.eiReportID, '');
  });
});

describe('EPRI OpenADR-VEN-Library fixtures', { skip }, () => {
  const files = skip === undefined ? listXml(EPRI_FIXTURES_DIR) : [];

  test('28 fixtures: 24 parse, the 4 schema-invalid ones are refused where xmllint fails them', () => {
    assert.equal(files.length, 28);
    const accepted: string[] = [];
    for (const file of files) {
      const name = relative(EPRI_FIXTURES_DIR, file);
      const text = readFileSync(file, 'utf8');
      const isPayload = /<(\w+:)?oadrPayload[\s>]/.test(text);
      const negative = EPRI_NEGATIVE[name];
      if (negative === undefined) {
        if (isPayload) parseOadr(text);
        else parseOadrItemBase(text);
        accepted.push(name);
        continue;
      }
      assert.throws(
        () => parseOadr(text),
        (e: unknown) =>
          e instanceof GridseamError &&
          e.code === 'GW_ERR_VALIDATION' &&
          e.details?.path === negative.path &&
          negative.reason.test(e.message),
        name,
      );
    }
    assert.equal(accepted.length, 24);
  });

  test('xmllint agrees: the 24 validate, the 4 negatives do not', (t) => {
    const reason = xsdSkipReason();
    if (reason !== undefined) return t.skip(reason);
    const results = validateOadrBatch(files.map((f) => readFileSync(f, 'utf8')));
    files.forEach((file, i) => {
      const name = relative(EPRI_FIXTURES_DIR, file);
      assert.equal(results[i]?.valid, EPRI_NEGATIVE[name] === undefined, `${name}: ${results[i]?.errors.join('\n')}`);
    });
  });

  test('what parses re-emits schema-valid and parses back to the same value', (t) => {
    const emitted: string[] = [];
    for (const file of files) {
      const name = relative(EPRI_FIXTURES_DIR, file);
      if (EPRI_NEGATIVE[name] !== undefined) continue;
      const text = readFileSync(file, 'utf8');
      if (/<(\w+:)?oadrPayload[\s>]/.test(text)) {
        const message = parseOadr(text);
        const xml = emitOadr(message);
        assert.deepEqual(parseOadr(xml), message, name);
        emitted.push(xml);
      } else {
        const item = parseOadrItemBase(text);
        const xml = emitOadrItemBase(item);
        assert.deepEqual(parseOadrItemBase(xml), item, name);
        emitted.push(xml);
      }
    }
    assert.equal(emitted.length, 24);
    const reason = xsdSkipReason();
    if (reason !== undefined) return t.skip(reason);
    for (const result of validateOadrBatch(emitted)) assert.ok(result.valid, result.errors.join('\n'));
  });

  test('the two-signal event reads its price and SIMPLE signals with tolerance and ramp windows', () => {
    const message = parseOadr(
      readFileSync(join(EPRI_FIXTURES_DIR, 'test_input', 'payload', 'distribute_event_1event2signals.xml')),
      {
        expect: 'oadrDistributeEvent',
      },
    );
    const event = message.oadrEvent?.[0];
    assert.ok(event);
    assert.deepEqual(event.eiActivePeriod, {
      dtstart: Date.parse('2015-06-26T18:00:00Z'),
      duration: 7200,
      startafter: 0,
      notification: 0,
      rampUp: 0,
      recovery: 0,
    });
    assert.equal(event.eventDescriptor.modificationReason, '');
    assert.deepEqual(
      event.eiEventSignals.map((s) => [
        s.signalName,
        s.signalType,
        s.intervals.map((i) => [i.duration, i.signalPayload]),
        s.currentValue,
      ]),
      [
        [
          'ENERGY_PRICE',
          'price',
          [
            [3600, 0.5],
            [3600, 0.75],
          ],
          0,
        ],
        [
          'simple',
          'delta',
          [
            [2400, 0],
            [2400, 1],
            [2400, 2],
          ],
          0,
        ],
      ],
    );
  });

  test('the status report reads oadrPayloadResourceStatus with its load control state', () => {
    const message = parseOadr(readFileSync(join(EPRI_FIXTURES_DIR, 'expected_output', 'update_report1.xml')), {
      expect: 'oadrUpdateReport',
    });
    const payload = message.oadrReport?.[0]?.intervals?.[0]?.oadrReportPayload[0];
    assert.equal(payload?.confidence, 100);
    assert.equal(payload?.oadrDataQuality, 'Quality Good - Non Specific');
    assert.deepEqual(payload?.payload, {
      kind: 'oadrPayloadResourceStatus',
      oadrOnline: true,
      oadrManualOverride: true,
      oadrLoadControlState: {
        oadrCapacity: { oadrMin: 0, oadrMax: 0, oadrCurrent: 0, oadrNormal: 0 },
        oadrLevelOffset: { oadrMin: 0, oadrMax: 0, oadrCurrent: 0, oadrNormal: 0 },
        oadrPercentOffset: { oadrMin: 0, oadrMax: 0, oadrCurrent: 0, oadrNormal: 0 },
        oadrSetPoint: { oadrMin: 0, oadrMax: 0, oadrCurrent: 0, oadrNormal: 0 },
      },
    });
  });
});
