import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ErrorCode, GridseamError } from '@gridseam/model';
import { emitOadr, parseOadr, parseOadrEnvelope, signOadr, verifyOadr } from '../../../src/v2b/codec/index.ts';
import { SAMPLES_DIR, sharedSkipReason, validateOadr, xsdSkipReason } from '../../helpers/xsd.ts';
import { EXAMPLES } from './examples.ts';

/**
 * Sign -> verify with RSA keys made by openssl in a temp dir (a CA, a leaf it issued, an unrelated
 * self-signed certificate), tampering and signature wrapping refused, and the 44 signed messages OpenLEADR
 * captured verified with the certificate each carries in KeyInfo (its dummy CA is not in shared, so the chain
 * up to that CA cannot be checked: the embedded certificate is pinned as trusted).
 */

interface Pair {
  key: string;
  cert: string;
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const opensslSkip = hasOpenssl() ? undefined : 'openssl not installed';

function refused(run: () => unknown, code: ErrorCode, pattern?: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof GridseamError, String(e));
    assert.equal(e.code, code, e.message);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
}

const NOW = Date.UTC(2026, 10, 27, 12);
const DAY = 86_400_000;

describe('signOadr / verifyOadr with generated keys', { skip: opensslSkip }, () => {
  let dir = '';
  let ca: Pair;
  let leaf: Pair;
  let stranger: Pair;
  let validTo = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gridseam-oadr-sig-'));
    const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '3',
      '-subj',
      '/CN=test-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]);
    openssl([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'leaf.key',
      '-out',
      'leaf.csr',
      '-subj',
      '/CN=test-vtn',
    ]);
    writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n');
    openssl([
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      'leaf.ext',
      '-out',
      'leaf.pem',
    ]);
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'stranger.key',
      '-out',
      'stranger.pem',
      '-days',
      '2',
      '-subj',
      '/CN=test-vtn',
    ]);
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    ca = { key: read('ca.key'), cert: read('ca.pem') };
    leaf = { key: read('leaf.key'), cert: read('leaf.pem') };
    stranger = { key: read('stranger.key'), cert: read('stranger.pem') };
    validTo = Date.now() + 2 * DAY;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const unsigned = () => emitOadr(EXAMPLES.oadrDistributeEvent);
  const signed = () => signOadr(unsigned(), { key: leaf.key, cert: leaf.cert, now: Date.now(), nonce: 'n0nce' });

  test('a signed message verifies and returns the payload, the signer and ReplayProtect', () => {
    const now = Date.now();
    const xml = signOadr(unsigned(), { key: leaf.key, cert: leaf.cert, now, nonce: 'abc123' });
    assert.equal(parseOadrEnvelope(xml).signed, true);
    const verified = verifyOadr(xml, { trusted: [leaf.cert] });
    assert.deepEqual(verified.message, EXAMPLES.oadrDistributeEvent);
    assert.equal(verified.signer.trust, 'pinned');
    assert.match(verified.signer.subject, /CN=test-vtn/);
    assert.deepEqual(verified.replayProtect, { timestamp: now, nonce: 'abc123' });
    assert.equal(verified.signedObjectId, 'oadrSignedObject');
    // Same layout as OpenLEADR's: Signature before oadrSignedObject, RSA-SHA256, C14N, two references.
    assert.ok(xml.indexOf('<ds:Signature') < xml.indexOf('<oadr:oadrSignedObject'));
    assert.match(xml, /SignatureMethod Algorithm="http:\/\/www.w3.org\/2001\/04\/xmldsig-more#rsa-sha256"/);
    assert.match(xml, /<ds:Reference URI="#oadrSignedObject">/);
    assert.match(xml, /<ds:Reference URI="#prop">/);
    assert.match(xml, /<dsp:ReplayProtect xmlns:dsp="http:\/\/openadr.org\/oadr-2.0b\/2012\/07\/xmldsig-properties">/);
  });

  test('the signed document validates against oadr_20b.xsd', (t) => {
    const reason = xsdSkipReason();
    if (reason !== undefined) return t.skip(reason);
    const result = validateOadr(signed());
    assert.ok(result.valid, result.errors.join('\n'));
  });

  test('every message type signs and verifies', () => {
    for (const message of Object.values(EXAMPLES)) {
      const xml = signOadr(emitOadr(message), { key: leaf.key, cert: leaf.cert });
      assert.deepEqual(verifyOadr(xml, { trusted: [leaf.cert] }).message, message);
    }
  });

  test('a certificate issued by a trusted CA is accepted; the positional forms work', () => {
    const xml = signOadr(unsigned(), leaf.key, leaf.cert);
    assert.equal(verifyOadr(xml, [ca.cert]).signer.trust, 'issued-by-trusted');
    assert.equal(verifyOadr(xml, { trusted: [ca.cert] }).message.type, 'oadrDistributeEvent');
  });

  test('an untrusted signer is GW_ERR_UNAUTHORIZED', () => {
    refused(() => verifyOadr(signed(), { trusted: [stranger.cert] }), 'GW_ERR_UNAUTHORIZED', /not trusted/);
    const byStranger = signOadr(unsigned(), { key: stranger.key, cert: stranger.cert });
    refused(() => verifyOadr(byStranger, { trusted: [ca.cert] }), 'GW_ERR_UNAUTHORIZED', /not trusted/);
    refused(() => verifyOadr(signed(), { trusted: [] }), 'GW_ERR_UNAUTHORIZED', /no trusted/);
  });

  test('a certificate outside its validity period is GW_ERR_UNAUTHORIZED', () => {
    refused(
      () => verifyOadr(signed(), { trusted: [leaf.cert], now: validTo + 2 * DAY }),
      'GW_ERR_UNAUTHORIZED',
      /not valid at/,
    );
    refused(
      () => verifyOadr(signed(), { trusted: [leaf.cert], now: NOW - 365 * DAY }),
      'GW_ERR_UNAUTHORIZED',
      /not valid at/,
    );
  });

  test('a stale ReplayProtect is refused when a window is set', () => {
    const xml = signOadr(unsigned(), { key: leaf.key, cert: leaf.cert, now: Date.now() - 10 * 60_000 });
    assert.ok(verifyOadr(xml, { trusted: [leaf.cert] }).replayProtect);
    refused(
      () => verifyOadr(xml, { trusted: [leaf.cert], maxAgeMs: 5 * 60_000 }),
      'GW_ERR_UNAUTHORIZED',
      /replay window/,
    );
  });

  test('tampering with the payload, the signature value or ReplayProtect is detected', () => {
    const xml = signed();
    const tampered = [
      xml.replace('<ei:vtnID>VTN_1</ei:vtnID>', '<ei:vtnID>VTN_2</ei:vtnID>'),
      xml.replace('<ei:value>0.5</ei:value>', '<ei:value>0.6</ei:value>'),
      xml.replace('n0nce', 'n1nce'),
      xml.replace(/<ds:SignatureValue>(.)/, (_, c: string) => `<ds:SignatureValue>${c === 'A' ? 'B' : 'A'}`),
      xml.replace(/<ds:DigestValue>(.)/, (_, c: string) => `<ds:DigestValue>${c === 'A' ? 'B' : 'A'}`),
    ];
    for (const doc of tampered) {
      assert.notEqual(doc, xml);
      refused(() => verifyOadr(doc, { trusted: [leaf.cert] }), 'GW_ERR_UNAUTHORIZED', /does not verify/);
    }
  });

  test('signature wrapping: a second element with the signed Id is GW_ERR_HOSTILE_INPUT', () => {
    const xml = signed();
    const original = /<oadr:oadrSignedObject[\s\S]*<\/oadr:oadrSignedObject>/.exec(xml)?.[0];
    assert.ok(original);
    const forged = emitOadr({ ...EXAMPLES.oadrDistributeEvent, vtnID: 'EVIL' }, { xmlDeclaration: false });
    const forgedObject = /<oadr:oadrSignedObject[\s\S]*<\/oadr:oadrSignedObject>/.exec(forged)?.[0] ?? '';
    // The genuine signed object hidden in the ds:Object, a forged one where the payload is read.
    const hidden = xml
      .replace(original, forgedObject)
      .replace('</ds:Object>', `</ds:Object><ds:Object>${original}</ds:Object>`);
    refused(() => verifyOadr(hidden, { trusted: [leaf.cert] }), 'GW_ERR_HOSTILE_INPUT', /appears 2 times/);
  });

  test('signature wrapping: a reference to anything but the returned oadrSignedObject is GW_ERR_HOSTILE_INPUT', () => {
    const xml = signOadr(emitOadr(EXAMPLES.oadrCreatedPartyRegistration), { key: leaf.key, cert: leaf.cert });
    const original = /<oadr:oadrSignedObject[\s\S]*<\/oadr:oadrSignedObject>/.exec(xml)?.[0] ?? '';
    // The genuine object moved into a ds:Object (keeping its Id), the returned one renamed.
    const moved = xml
      .replace(original, original.replace('oadr:Id="oadrSignedObject"', 'oadr:Id="other"').replace('VTN_1', 'EVIL'))
      .replace('</ds:Object>', `</ds:Object><ds:Object>${original}</ds:Object>`);
    refused(() => verifyOadr(moved, { trusted: [leaf.cert] }), 'GW_ERR_HOSTILE_INPUT', /neither the oadrSignedObject/);
    refused(
      () => verifyOadr(xml.replace('URI="#oadrSignedObject"', 'URI=""'), { trusted: [leaf.cert] }),
      'GW_ERR_HOSTILE_INPUT',
      /same-document/,
    );
    const twice = xml.replace(
      '</ds:Object>',
      `</ds:Object><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>`,
    );
    refused(() => verifyOadr(twice, { trusted: [leaf.cert] }), 'GW_ERR_HOSTILE_INPUT', /more than one ds:Signature/);
  });

  test('an unsigned message is GW_ERR_UNAUTHORIZED; hostile XML keeps its code', () => {
    refused(() => verifyOadr(unsigned(), { trusted: [leaf.cert] }), 'GW_ERR_UNAUTHORIZED', /not signed/);
    refused(
      () => verifyOadr(`<!DOCTYPE x [<!ENTITY a "b">]>${signed()}`, { trusted: [leaf.cert] }),
      'GW_ERR_HOSTILE_INPUT',
    );
  });

  test('signing refuses non-RSA keys, signed documents and documents without an Id', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    refused(() => signOadr(unsigned(), { key: ec, cert: leaf.cert }), 'GW_ERR_VALIDATION', /RSA/);
    refused(() => signOadr(unsigned(), { key: leaf.key, cert: 'not a pem' }), 'GW_ERR_VALIDATION', /PEM certificate/);
    refused(() => signOadr(signed(), { key: leaf.key, cert: leaf.cert }), 'GW_ERR_VALIDATION', /already/);
    const noId = unsigned().replace(' oadr:Id="oadrSignedObject"', '');
    refused(() => signOadr(noId, { key: leaf.key, cert: leaf.cert }), 'GW_ERR_VALIDATION', /no Id/);
  });
});

describe('the signed messages OpenLEADR captured', { skip: sharedSkipReason() }, () => {
  const dir = join(SAMPLES_DIR, 'mtls-signed');
  const files = sharedSkipReason() === undefined ? readdirSync(dir).sort() : [];
  /** The certificate each message carries (OpenLEADR's dummy VTN or VEN certificate). */
  const embedded = (xml: string): string => {
    const base64 = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(xml)?.[1]?.replace(/\s+/g, '') ?? '';
    return `-----BEGIN CERTIFICATE-----\n${base64.replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  };
  const captureTime = Date.UTC(2026, 10, 27, 7, 42, 30);

  test('all 44 verify with their KeyInfo certificate pinned, and read as the unverified parse does', () => {
    assert.equal(files.length, 44);
    const signers = new Set<string>();
    for (const file of files) {
      const xml = readFileSync(join(dir, file), 'utf8');
      const verified = verifyOadr(xml, { trusted: [embedded(xml)], now: captureTime, maxAgeMs: 60_000 });
      assert.deepEqual(verified.message, parseOadr(xml), file);
      assert.equal(verified.signer.trust, 'pinned');
      assert.ok(verified.replayProtect !== undefined && verified.replayProtect.nonce.length === 32, file);
      signers.add(verified.signer.subject);
    }
    // The VTN signs what the VEN receives and the other way round.
    assert.deepEqual([...signers].map((s) => /CN=([^\n]+)/.exec(s)?.[1]).sort(), [
      'dummy-ven.openleadr.org',
      'localhost',
    ]);
  });

  test('a captured message with a changed payload or a foreign trust list is refused', () => {
    const xml = readFileSync(join(dir, 'ven-005-received-oadrDistributeEvent.xml'), 'utf8');
    refused(
      () =>
        verifyOadr(xml.replace('<ei:value>1.0</ei:value>', '<ei:value>3.0</ei:value>'), {
          trusted: [embedded(xml)],
          now: captureTime,
        }),
      'GW_ERR_UNAUTHORIZED',
      /does not verify/,
    );
    const other = readdirSync(dir).find((f) => f.startsWith('vtn-'));
    assert.ok(other);
    const venCert = embedded(readFileSync(join(dir, other), 'utf8'));
    refused(() => verifyOadr(xml, { trusted: [venCert], now: captureTime }), 'GW_ERR_UNAUTHORIZED', /not trusted/);
  });
});
