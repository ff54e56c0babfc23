/**
 * The 2.0b VEN over HTTPS with mutual certificates (certificates made by openssl in a temp dir): registration,
 * an event with optIn and periodic reports on TLS 1.2 with a 2.0b cipher suite; a VEN whose certificate the VTN
 * does not trust is refused and keeps retrying without crashing; XML signatures both ways (the VEN signs, the
 * VTN verifies; the VTN signs, the VEN verifies and refuses an unsigned or wrongly signed answer).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { GridseamError } from '@gridseam/model';
import { signOadr, verifyOadr } from '../../../src/v2b/codec/index.ts';
import { createVen2b, OADR2B_CIPHERS, type Ven2bOptions } from '../../../src/v2b/ven/index.ts';
import { createTestPki, hasOpenssl, type TestPki } from '../support/pki.ts';
import { type StartedTestVtn, startTestVtn, type TestVtnOptions, testEvent } from '../support/test-vtn.ts';
import { TEST_REPORTS, testTelemetry, waitFor } from '../support/ven-fixtures.ts';
import { xsdValidator } from '../support/xsd.ts';

const skip = hasOpenssl() ? false : 'openssl not installed';
const validate = await xsdValidator();

describe('2.0b VEN over mutual TLS and with XML signatures', { skip }, () => {
  let pki: TestPki;
  const closers: Array<() => Promise<void>> = [];

  before(() => {
    pki = createTestPki(['ven-1', 'ven-2']);
  });
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    pki?.remove();
  });

  async function vtnWith(options: TestVtnOptions = {}): Promise<StartedTestVtn> {
    const vtn = await startTestVtn({
      tls: { key: pki.vtn.key, cert: pki.vtn.cert, ca: pki.ca },
      ...(validate ? { validate } : {}),
      ...options,
    });
    closers.push(() => vtn.close());
    return vtn;
  }

  function venFor(vtn: StartedTestVtn, name: string, options: Partial<Ven2bOptions> = {}) {
    const cert = pki.vens[name];
    assert.ok(cert);
    const ven = createVen2b({
      vtnUrl: vtn.url,
      venName: name,
      tls: { cert: cert.cert, key: cert.key, ca: pki.ca },
      pollSeconds: 3600,
      retrySeconds: 3600,
      reports: TEST_REPORTS,
      telemetry: testTelemetry,
      ...options,
    });
    closers.push(() => ven.stop());
    const errors: GridseamError[] = [];
    ven.on('error', (error) => errors.push(error));
    return { ven, errors };
  }

  test('registration, an event with optIn and reports over TLS 1.2 with a 2.0b suite', async () => {
    const vtn = await vtnWith();
    const { ven, errors } = venFor(vtn, 'ven-1');
    await ven.start();
    assert.deepEqual(errors, []);
    const registered = vtn.ven();
    assert.equal(registered.clientCn, 'ven-1', 'the VTN saw our client certificate');
    assert.equal(registered.tls?.version, 'TLSv1.2');
    assert.ok(OADR2B_CIPHERS.split(':').includes(registered.tls?.cipher ?? ''), registered.tls?.cipher);
    vtn.putEvent(registered.venId, testEvent({ eventId: 'tls-1', start: Date.now() + 60_000, durationS: 600 }));
    await ven.pollNow();
    assert.deepEqual(registered.eventResponses, [{ eventID: 'tls-1', modificationNumber: 0, optType: 'optIn' }]);
    await waitFor(() => (registered.updates.length >= 2 ? true : undefined), 'two reports over TLS');
    assert.deepEqual(vtn.problems(), []);
  });

  test('a VEN whose certificate the VTN does not trust is refused and does not crash', async () => {
    const other = createTestPki(['stranger']);
    try {
      const vtn = await vtnWith();
      const stranger = other.vens.stranger;
      assert.ok(stranger);
      const ven = createVen2b({
        vtnUrl: vtn.url,
        venName: 'stranger',
        // It trusts the VTN, but the VTN does not trust its issuer.
        tls: { cert: stranger.cert, key: stranger.key, ca: pki.ca },
        retrySeconds: 3600,
      });
      closers.push(() => ven.stop());
      const errors: GridseamError[] = [];
      ven.on('error', (error) => errors.push(error));
      await ven.start();
      assert.equal(ven.registration(), undefined);
      assert.equal(errors[0]?.code, 'GW_ERR_DEVICE_UNREACHABLE');
      assert.equal(vtn.received.length, 0);
      await ven.pollNow();
      assert.equal(errors.length, 2, 'retried, reported again');
    } finally {
      other.remove();
    }
  });

  test('the VEN signs and the VTN verifies; the VTN signs and the VEN verifies', async () => {
    const vtnCert = pki.vtn;
    const signatureProblems: string[] = [];
    const vtn = await vtnWith({
      validate: (xml) => {
        try {
          verifyOadr(xml, { trusted: [pki.ca] });
        } catch (error) {
          signatureProblems.push(String(error));
        }
        return validate ? validate(xml) : [];
      },
      sign: (xml) => signOadr(xml, { key: vtnCert.key, cert: vtnCert.cert }),
    });
    const ven1 = pki.vens['ven-1'];
    assert.ok(ven1);
    const { ven, errors } = venFor(vtn, 'ven-1', {
      signing: { key: ven1.key, cert: ven1.cert },
      verification: { trustedCerts: [pki.ca], requireSignatures: true, maxAgeSeconds: 300 },
    });
    await ven.start();
    assert.deepEqual(errors, []);
    const create = vtn.received.find((r) => r.type === 'oadrCreatePartyRegistration');
    assert.ok(create);
    assert.equal((create.message as { oadrXmlSignature?: boolean }).oadrXmlSignature, true);
    vtn.putEvent(vtn.ven().venId, testEvent({ eventId: 'signed-1', start: Date.now() + 60_000, durationS: 600 }));
    await ven.pollNow();
    assert.deepEqual(
      vtn.ven().eventResponses.map((r) => r.eventID),
      ['signed-1'],
    );
    assert.ok(vtn.received.length >= 6);
    assert.deepEqual(signatureProblems, [], 'every VEN message verified');
    assert.deepEqual(vtn.problems(), []);
  });

  test('the VEN refuses unsigned answers when signatures are required, and answers signed by a stranger', async () => {
    const unsigned = await vtnWith();
    const { ven, errors } = venFor(unsigned, 'ven-1', {
      verification: { trustedCerts: [pki.ca], requireSignatures: true },
    });
    await ven.start();
    assert.equal(ven.registration(), undefined);
    assert.equal(errors[0]?.code, 'GW_ERR_UNAUTHORIZED');

    const other = createTestPki([]);
    try {
      const forged = await vtnWith({ sign: (xml) => signOadr(xml, { key: other.vtn.key, cert: other.vtn.cert }) });
      const second = venFor(forged, 'ven-2', { verification: { trustedCerts: [pki.ca] } });
      await second.ven.start();
      assert.equal(second.ven.registration(), undefined);
      assert.equal(second.errors[0]?.code, 'GW_ERR_UNAUTHORIZED');
    } finally {
      other.remove();
    }
  });
});
