/**
 * LFDI, SFDI and certificate identity: the shared test vectors (certificates whose fingerprint, LFDI and SFDI
 * two independent implementations agree on), case handling, and the identity a TLS terminator forwards.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { GridseamError } from '@gridseam/model';
import {
  certificateDerFromPem,
  certificateFingerprint,
  identityFromForwardedHeader,
  isValidSfdi,
  lfdiEquals,
  lfdiFromCertificate,
  lfdiFromPem,
  MAX_SFDI,
  normaliseLfdi,
  pemFromCertificateDer,
  sfdiFromLfdi,
} from '../../src/identity/index.ts';

const repoRoot = resolve(import.meta.dirname, '../../../..');
const vectorsDir = resolve(repoRoot, '..', 'shared', 'specs', 'ieee2030_5', 'test-vectors', 'lfdi-sfdi');
const vectorsPresent = existsSync(join(vectorsDir, 'vectors.tsv'));
const skipReason = `LFDI/SFDI test vectors not found at ${vectorsDir}; vector tests skipped`;

interface Vector {
  file: string;
  fingerprint: string;
  lfdi: string;
  sfdi: number;
}

function readVectors(): Vector[] {
  const lines = readFileSync(join(vectorsDir, 'vectors.tsv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [file = '', fingerprint = '', lfdi = '', sfdi = ''] = line.split('\t');
    return { file, fingerprint, lfdi, sfdi: Number(sfdi) };
  });
}

function pemOf(vector: Vector): string {
  return readFileSync(join(vectorsDir, vector.file), 'utf8');
}

function assertRejects(action: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(GridseamError.is(error), `a GridseamError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

describe('LFDI and SFDI from the shared test vectors', () => {
  test('every certificate gives the listed fingerprint, LFDI and SFDI', (t) => {
    if (!vectorsPresent) return t.skip(skipReason);
    const vectors = readVectors();
    assert.equal(vectors.length, 10);
    for (const vector of vectors) {
      const der = certificateDerFromPem(pemOf(vector));
      assert.equal(certificateFingerprint(der), vector.fingerprint, vector.file);
      assert.equal(lfdiFromCertificate(der), vector.lfdi, vector.file);
      assert.equal(lfdiFromPem(pemOf(vector)), vector.lfdi, vector.file);
      assert.equal(sfdiFromLfdi(vector.lfdi), vector.sfdi, vector.file);
      assert.equal(sfdiFromLfdi(vector.lfdi.toUpperCase()), vector.sfdi, `${vector.file} upper-case`);
      assert.ok(isValidSfdi(vector.sfdi), `${vector.file} SFDI has a valid check digit`);
    }
  });

  test('the LFDI is hashed over the DER bytes, not the PEM text, and survives a PEM round trip', (t) => {
    if (!vectorsPresent) return t.skip(skipReason);
    const vector = readVectors().find((v) => v.file === 'local-2030.5-profile-device.pem');
    assert.ok(vector);
    const pem = pemOf(vector);
    assert.notEqual(certificateFingerprint(new TextEncoder().encode(pem)), vector.fingerprint);
    const der = certificateDerFromPem(pem);
    assert.equal(lfdiFromPem(pemFromCertificateDer(der)), vector.lfdi);
    // Text around the block (a key, a second certificate of a chain) does not change what is read.
    assert.equal(lfdiFromPem(`subject=...\n${pem}\n${pemOf(readVectors()[0] as Vector)}`), vector.lfdi);
  });
});

describe('SFDI', () => {
  test('the IEEE 2030.5 worked example: LFDI 3E4F45AB… has SFDI 167261211391', () => {
    assert.equal(sfdiFromLfdi('3E4F45AB31EDFE5B67E343E5E4562E31984E23E5'), 167261211391);
  });

  test('the check digit makes the digit sum a multiple of 10', () => {
    // prefix 0x000000001 = 1 → check digit 9 → 19; prefix 0 → 0.
    assert.equal(sfdiFromLfdi(`000000001${'0'.repeat(31)}`), 19);
    assert.equal(sfdiFromLfdi('0'.repeat(40)), 0);
    // The largest prefix, 2^36 − 1 = 68719476735 (digit sum 63) → check digit 7.
    assert.equal(sfdiFromLfdi(`fffffffff${'0'.repeat(31)}`), 687194767357);
    assert.ok(687194767357 <= MAX_SFDI);
  });

  test('isValidSfdi refuses a wrong check digit, fractions, negatives, non-finite and out-of-range numbers', () => {
    assert.equal(isValidSfdi(167261211391), true);
    assert.equal(isValidSfdi(167261211392), false);
    assert.equal(isValidSfdi(19), true);
    for (const bad of [1.5, -19, Number.NaN, Number.POSITIVE_INFINITY, MAX_SFDI + 1, 7_000_000_000_000])
      assert.equal(isValidSfdi(bad), false, String(bad));
    assert.equal(isValidSfdi('19' as unknown as number), false);
  });
});

describe('normaliseLfdi and lfdiEquals', () => {
  test('any case in, lower case out; LFDIs compare case-insensitively', () => {
    assert.equal(
      normaliseLfdi(' 3E4F45AB31EDFE5B67E343E5E4562E31984E23E5 '),
      '3e4f45ab31edfe5b67e343e5e4562e31984e23e5',
    );
    assert.ok(lfdiEquals('3E4F45AB31EDFE5B67E343E5E4562E31984E23E5', '3e4f45ab31edfe5b67e343e5e4562e31984e23e5'));
    assert.ok(!lfdiEquals('3E4F45AB31EDFE5B67E343E5E4562E31984E23E5', '3e4f45ab31edfe5b67e343e5e4562e31984e23e6'));
    assert.ok(!lfdiEquals('not-an-lfdi', 'not-an-lfdi'));
  });

  test('non-hex, wrong lengths and non-strings are GW_ERR_VALIDATION', () => {
    for (const bad of ['g'.repeat(40), 'a'.repeat(39), 'a'.repeat(41), '', 'a'.repeat(64), '0x' + 'a'.repeat(38)])
      assertRejects(() => normaliseLfdi(bad), 'GW_ERR_VALIDATION', /40 hexadecimal/);
    assertRejects(() => normaliseLfdi(12345 as unknown as string), 'GW_ERR_VALIDATION');
    assertRejects(() => sfdiFromLfdi('zz'), 'GW_ERR_VALIDATION');
  });
});

describe('certificateDerFromPem', () => {
  test('text without a certificate, bad base64 or bytes that are not X.509 are GW_ERR_MALFORMED', () => {
    assertRejects(() => certificateDerFromPem('hello'), 'GW_ERR_MALFORMED', /BEGIN CERTIFICATE/);
    assertRejects(
      () => certificateDerFromPem('-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----'),
      'GW_ERR_MALFORMED',
      /base64/,
    );
    assertRejects(
      () => certificateDerFromPem('-----BEGIN CERTIFICATE-----\nAAECAwQFBgc=\n-----END CERTIFICATE-----'),
      'GW_ERR_MALFORMED',
      /X\.509/,
    );
    assertRejects(() => certificateDerFromPem('x'.repeat(70_000)), 'GW_ERR_MALFORMED', /longer/);
    assertRejects(() => certificateDerFromPem(undefined as unknown as string), 'GW_ERR_MALFORMED');
  });
});

describe('identityFromForwardedHeader', () => {
  test('a URL-encoded PEM certificate (nginx $ssl_client_escaped_cert)', (t) => {
    if (!vectorsPresent) return t.skip(skipReason);
    const vector = readVectors()[0] as Vector;
    const identity = identityFromForwardedHeader(encodeURIComponent(pemOf(vector)));
    assert.deepEqual(identity, {
      lfdi: vector.lfdi,
      sfdi: vector.sfdi,
      source: 'certificate',
      fingerprint: vector.fingerprint,
    });
    // A raw PEM folded onto one line (a header cannot hold newlines) reads the same.
    assert.equal(identityFromForwardedHeader(pemOf(vector).replaceAll('\n', ' ')).lfdi, vector.lfdi);
    // Only the reserved characters escaped (newlines as %0A, '+' left as is) reads the same.
    const partlyEscaped = pemOf(vector).replaceAll('\n', '%0A').replaceAll(' ', '%20');
    assert.equal(identityFromForwardedHeader(partlyEscaped).lfdi, vector.lfdi);
  });

  test('a SHA-256 fingerprint (plain, upper-case, colon-separated): its first 40 hex characters are the LFDI', (t) => {
    if (!vectorsPresent) return t.skip(skipReason);
    const vector = readVectors()[1] as Vector;
    const expected = { lfdi: vector.lfdi, sfdi: vector.sfdi, source: 'fingerprint', fingerprint: vector.fingerprint };
    assert.deepEqual(identityFromForwardedHeader(vector.fingerprint), expected);
    assert.deepEqual(identityFromForwardedHeader(vector.fingerprint.toUpperCase()), expected);
    const colons = vector.fingerprint.toUpperCase().match(/../g)?.join(':') ?? '';
    assert.deepEqual(identityFromForwardedHeader(colons), expected);
  });

  test('an LFDI in any case, and an Envoy-style Hash=…;Cert="…" element', (t) => {
    if (!vectorsPresent) return t.skip(skipReason);
    const [first, second] = readVectors() as [Vector, Vector];
    assert.deepEqual(identityFromForwardedHeader(` ${first.lfdi.toUpperCase()} `), {
      lfdi: first.lfdi,
      sfdi: first.sfdi,
      source: 'lfdi',
    });
    const cert = encodeURIComponent(pemOf(second));
    assert.equal(identityFromForwardedHeader(`Hash=${first.fingerprint};Cert="${cert}"`).lfdi, second.lfdi);
    assert.equal(identityFromForwardedHeader(`By=spiffe://gw;Hash=${first.fingerprint}`).lfdi, first.lfdi);
    assert.equal(identityFromForwardedHeader([first.lfdi]).lfdi, first.lfdi);
  });

  test('missing, repeated, malformed and oversized values are GW_ERR_UNAUTHORIZED', () => {
    const bad: Array<[string | string[] | undefined, RegExp]> = [
      [undefined, /missing or empty/],
      ['', /missing or empty/],
      ['   ', /missing or empty/],
      [['a'.repeat(40), 'b'.repeat(40)], /more than once/],
      [[], /more than once/],
      ['a'.repeat(39), /not a URL-encoded PEM/],
      ['a'.repeat(41), /not a URL-encoded PEM/],
      ['a'.repeat(63), /not a URL-encoded PEM/],
      ['AB:CD:EF', /not a URL-encoded PEM/],
      ['CN=device-1', /not a URL-encoded PEM/],
      ['-----BEGIN%20CERTIFICATE-----%E0%A4%A', /URL encoding/],
      ['-----BEGIN%20CERTIFICATE-----%0AAAECAwQFBgc=%0A-----END%20CERTIFICATE-----', /cannot be read/],
      ['Hash=xyz', /not a URL-encoded PEM/],
      ['a'.repeat(20_000), /longer than/],
    ];
    for (const [value, pattern] of bad)
      assertRejects(() => identityFromForwardedHeader(value), 'GW_ERR_UNAUTHORIZED', pattern);
    assertRejects(() => identityFromForwardedHeader(42 as unknown as string), 'GW_ERR_UNAUTHORIZED');
  });
});
