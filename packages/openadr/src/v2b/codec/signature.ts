/**
 * XML signatures of OpenADR 2.0b payloads (the 2.0b profile's optional message signing, negotiated with
 * oadrXmlSignature at registration).
 *
 * What we produce matches what OpenLEADR puts on the wire (samples-2.0b/mtls-signed): a ds:Signature as the
 * first child of oadrPayload, before oadrSignedObject, RSA-SHA256 over inclusive C14N 1.0 SignedInfo, two
 * references with a C14N transform and SHA-256 digests, one to `#<oadrSignedObject Id>` and one to a ds:Object
 * holding ds:SignatureProperties/ds:SignatureProperty/dsp:ReplayProtect (timestamp and nonce, the
 * xmldsig-properties schema), and the signer's certificate in KeyInfo/X509Data.
 *
 * Verification refuses signature wrapping: exactly one ds:Signature (a child of oadrPayload), Id values unique
 * in the document, one Reference pointing at the oadrSignedObject's Id and every other Reference at a ds:Object
 * of that same Signature (GW_ERR_HOSTILE_INPUT otherwise); and the message returned is parsed from the
 * canonical bytes xml-crypto verified, not from the unverified document. A bad digest or signature value, an
 * algorithm other than RSA-SHA256/SHA-256/C14N, an untrusted, expired or not-yet-valid certificate and a missing
 * or stale ReplayProtect are GW_ERR_UNAUTHORIZED.
 */
import { createPrivateKey, KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { type ErrorCode, GridseamError } from '@gridseam/model';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { NS } from './namespaces.ts';
import { type OadrEnvelope, type ParseOptions, readEnvelope, signedObjectIdOf } from './parse.ts';
import type { OadrMessage } from './types.ts';
import { formatDateTime, parseDateTime, ValueError } from './values.ts';
import { bodyText, DEFAULT_MAX_BYTES, parseXmlTree, refuseHostileConstructs, type XmlElement } from './xml.ts';

const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const C14N_WITH_COMMENTS = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const EXC_C14N_WITH_COMMENTS = 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const ACCEPTED_CANONICALIZATIONS: ReadonlySet<string> = new Set([
  C14N,
  C14N_WITH_COMMENTS,
  EXC_C14N,
  EXC_C14N_WITH_COMMENTS,
]);

/** Id of the ds:Object carrying ReplayProtect (as OpenLEADR names it). */
const PROPERTIES_OBJECT_ID = 'prop';
const SIGNATURE_ID = 'oadrSignature';

export interface SignOptions {
  /** PEM private key (RSA: xml-crypto signs RSA-SHA256 only). */
  key: string | Buffer | KeyObject;
  /** PEM certificate of that key (chain certificates may follow); published in KeyInfo/X509Data. */
  cert: string;
  /** ReplayProtect timestamp (epoch ms). Default now. */
  now?: number;
  /** ReplayProtect nonce. Default 16 random bytes in hex. */
  nonce?: string;
}

export interface VerifyOptions extends ParseOptions {
  /**
   * Trusted certificates (PEM): the signer's certificate must be one of them, or be issued and signed by one of
   * them (one level; deeper chains are not walked). Without KeyInfo, each trusted certificate's key is tried.
   */
  trusted: readonly string[];
  /** Clock for certificate validity and the replay window (epoch ms). Default now. */
  now?: number;
  /** Refuse a ReplayProtect timestamp further than this from `now` (either side). Default: not checked. */
  maxAgeMs?: number;
  /** Refuse signatures without ReplayProtect (the 2.0b profile requires it). Default true. */
  requireReplayProtect?: boolean;
}

export interface VerifiedSigner {
  /** The certificate whose key verified the signature (PEM). */
  certificate: string;
  subject: string;
  fingerprint256: string;
  /** `pinned`: the certificate itself is trusted; `issued-by-trusted`: a trusted certificate issued it. */
  trust: 'pinned' | 'issued-by-trusted';
}

export interface VerifiedOadr<M extends OadrMessage = OadrMessage> extends OadrEnvelope<M> {
  signer: VerifiedSigner;
  replayProtect?: { timestamp: number; nonce: string };
}

function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new GridseamError(code, message, cause === undefined ? {} : { cause });
}

// ------------------------------------------------------------------ signing

function replayProtectObject(now: number, nonce: string): string {
  let timestamp: string;
  try {
    timestamp = formatDateTime(now);
  } catch (error) {
    if (error instanceof ValueError) return fail('GW_ERR_VALIDATION', `cannot sign: ${error.message}`);
    throw error;
  }
  if (!/^[A-Za-z0-9+/=_-]{1,128}$/.test(nonce))
    fail('GW_ERR_VALIDATION', 'cannot sign: the nonce must be 1-128 token characters');
  return (
    `<ds:SignatureProperties><ds:SignatureProperty Target="#${SIGNATURE_ID}">` +
    `<dsp:ReplayProtect xmlns:dsp="${NS.dsp}"><dsp:timestamp>${timestamp}</dsp:timestamp>` +
    `<dsp:nonce>${nonce}</dsp:nonce></dsp:ReplayProtect></ds:SignatureProperty></ds:SignatureProperties>`
  );
}

function isRsaKey(key: SignOptions['key']): boolean {
  try {
    const object = key instanceof KeyObject ? key : createPrivateKey(key);
    return object.type === 'private' && object.asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/**
 * Sign an emitted 2.0b document (see emitOadr). Accepts `signOadr(xml, { key, cert })` and the positional
 * form `signOadr(xml, key, cert)`.
 */
export function signOadr(xml: string, options: SignOptions): string;
export function signOadr(xml: string, key: SignOptions['key'], cert: string): string;
export function signOadr(xml: string, optionsOrKey: SignOptions | SignOptions['key'], cert?: string): string {
  const options: SignOptions =
    typeof optionsOrKey === 'object' && !Buffer.isBuffer(optionsOrKey) && !(optionsOrKey instanceof KeyObject)
      ? optionsOrKey
      : { key: optionsOrKey, cert: cert ?? '' };
  if (typeof options.cert !== 'string' || !options.cert.includes('-----BEGIN CERTIFICATE-----')) {
    fail('GW_ERR_VALIDATION', 'cannot sign: cert must be a PEM certificate');
  }
  if (!isRsaKey(options.key)) fail('GW_ERR_VALIDATION', 'cannot sign: key must be an RSA private key (RSA-SHA256)');

  const text = bodyText(xml, DEFAULT_MAX_BYTES);
  refuseHostileConstructs(text);
  const root = parseXmlTree(text);
  const envelope = readEnvelope(root);
  if (envelope.signed) fail('GW_ERR_VALIDATION', 'cannot sign: the document already carries a ds:Signature');
  const id = envelope.signedObjectId;
  if (id === undefined) fail('GW_ERR_VALIDATION', 'cannot sign: oadrSignedObject has no Id (emit it with emitOadr)');
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id))
    fail('GW_ERR_VALIDATION', 'cannot sign: the oadrSignedObject Id is not an NCName');

  const signer = new SignedXml({
    privateKey: options.key,
    publicCert: options.cert,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: C14N,
    objects: [
      {
        content: replayProtectObject(options.now ?? Date.now(), options.nonce ?? randomBytes(16).toString('hex')),
        attributes: { Id: PROPERTIES_OBJECT_ID },
      },
    ],
  });
  signer.addReference({
    xpath: `/*[local-name(.)='oadrPayload']/*[local-name(.)='oadrSignedObject' and @*[local-name(.)='Id']='${id}']`,
    transforms: [C14N],
    digestAlgorithm: SHA256,
  });
  signer.addReference({
    xpath: `//*[local-name(.)='Object' and @Id='${PROPERTIES_OBJECT_ID}']`,
    transforms: [C14N],
    digestAlgorithm: SHA256,
  });
  try {
    signer.computeSignature(text, {
      prefix: 'ds',
      attrs: { Id: SIGNATURE_ID },
      location: { reference: "/*[local-name(.)='oadrPayload']/*[local-name(.)='oadrSignedObject']", action: 'before' },
    });
  } catch (cause) {
    return fail('GW_ERR_VALIDATION', `cannot sign: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  return signer.getSignedXml();
}

// ------------------------------------------------------------------ verification

function childrenNamed(element: XmlElement, ns: string, local: string): XmlElement[] {
  return element.children.filter((c) => c.ns === ns && c.local === local);
}

function onlyChild(element: XmlElement, local: string): XmlElement {
  const found = childrenNamed(element, NS.ds, local);
  const first = found[0];
  if (first === undefined || found.length > 1) {
    fail('GW_ERR_UNAUTHORIZED', `signature: expected exactly one ds:${local} in ds:${element.local}`);
  }
  return first;
}

function attribute(element: XmlElement, local: string): string | undefined {
  return element.attributes.find((a) => a.ns === '' && a.local === local)?.value;
}

/** Every Id/ID/id attribute value in the document (any namespace), counted. */
function collectIds(element: XmlElement, into: Map<string, number>): void {
  for (const a of element.attributes) {
    if (a.local === 'Id' || a.local === 'ID' || a.local === 'id') into.set(a.value, (into.get(a.value) ?? 0) + 1);
  }
  for (const child of element.children) collectIds(child, into);
}

function countSignatures(element: XmlElement): number {
  let n = element.ns === NS.ds && element.local === 'Signature' ? 1 : 0;
  for (const child of element.children) n += countSignatures(child);
  return n;
}

interface CheckedSignature {
  signedObjectReference: number;
  objectReferences: Map<number, XmlElement>;
  certificates: string[];
}

/** The structural rules that keep the verified element and the returned payload the same. */
function checkStructure(root: XmlElement, signedObjectId: string | undefined): CheckedSignature {
  const signature = childrenNamed(root, NS.ds, 'Signature')[0];
  if (signature === undefined) return fail('GW_ERR_UNAUTHORIZED', 'the message is not signed (no ds:Signature)');
  if (countSignatures(root) !== 1)
    fail('GW_ERR_HOSTILE_INPUT', 'signature: more than one ds:Signature in the document');
  if (signedObjectId === undefined) fail('GW_ERR_HOSTILE_INPUT', 'signature: oadrSignedObject has no Id to reference');
  const ids = new Map<string, number>();
  collectIds(root, ids);
  for (const [value, count] of ids) {
    if (count > 1) fail('GW_ERR_HOSTILE_INPUT', `signature: the Id ${JSON.stringify(value)} appears ${count} times`);
  }

  const signedInfo = onlyChild(signature, 'SignedInfo');
  const canonicalization = attribute(onlyChild(signedInfo, 'CanonicalizationMethod'), 'Algorithm') ?? '';
  if (!ACCEPTED_CANONICALIZATIONS.has(canonicalization)) {
    fail('GW_ERR_UNAUTHORIZED', `signature: canonicalization ${JSON.stringify(canonicalization)} is not accepted`);
  }
  const method = attribute(onlyChild(signedInfo, 'SignatureMethod'), 'Algorithm');
  if (method !== RSA_SHA256)
    fail('GW_ERR_UNAUTHORIZED', `signature: method ${JSON.stringify(method)} is not RSA-SHA256`);
  onlyChild(signature, 'SignatureValue');

  const objects = new Map<string, XmlElement>();
  for (const object of childrenNamed(signature, NS.ds, 'Object')) {
    const objectId = attribute(object, 'Id');
    if (objectId !== undefined) objects.set(objectId, object);
  }
  const references = childrenNamed(signedInfo, NS.ds, 'Reference');
  let signedObjectReference = -1;
  const objectReferences = new Map<number, XmlElement>();
  references.forEach((reference, index) => {
    const uri = attribute(reference, 'URI') ?? '';
    if (!uri.startsWith('#')) {
      fail('GW_ERR_HOSTILE_INPUT', `signature: Reference URI ${JSON.stringify(uri)} is not a same-document Id`);
    }
    const target = uri.slice(1);
    if (target === signedObjectId) {
      if (signedObjectReference !== -1)
        fail('GW_ERR_HOSTILE_INPUT', 'signature: the oadrSignedObject is referenced twice');
      signedObjectReference = index;
    } else {
      const object = objects.get(target);
      if (object === undefined) {
        fail(
          'GW_ERR_HOSTILE_INPUT',
          `signature: Reference ${JSON.stringify(uri)} is neither the oadrSignedObject nor a ds:Object of this signature`,
        );
      }
      objectReferences.set(index, object);
    }
    const digest = attribute(onlyChild(reference, 'DigestMethod'), 'Algorithm');
    if (digest !== SHA256) fail('GW_ERR_UNAUTHORIZED', `signature: digest ${JSON.stringify(digest)} is not SHA-256`);
    const transforms = childrenNamed(reference, NS.ds, 'Transforms')[0];
    for (const transform of transforms === undefined ? [] : childrenNamed(transforms, NS.ds, 'Transform')) {
      const algorithm = attribute(transform, 'Algorithm') ?? '';
      if (!ACCEPTED_CANONICALIZATIONS.has(algorithm)) {
        fail('GW_ERR_UNAUTHORIZED', `signature: transform ${JSON.stringify(algorithm)} is not accepted`);
      }
    }
  });
  if (signedObjectReference === -1) {
    fail('GW_ERR_HOSTILE_INPUT', `signature: no Reference to the oadrSignedObject (#${signedObjectId})`);
  }

  const certificates: string[] = [];
  const keyInfo = childrenNamed(signature, NS.ds, 'KeyInfo')[0];
  for (const data of keyInfo === undefined ? [] : childrenNamed(keyInfo, NS.ds, 'X509Data')) {
    for (const certificate of childrenNamed(data, NS.ds, 'X509Certificate')) {
      const base64 = certificate.text.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
        fail('GW_ERR_UNAUTHORIZED', 'signature: X509Certificate is not base64');
      certificates.push(
        `-----BEGIN CERTIFICATE-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
      );
    }
  }
  return { signedObjectReference, objectReferences, certificates };
}

function parseCertificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    return fail('GW_ERR_UNAUTHORIZED', `${what} is not a valid X.509 certificate`, cause);
  }
}

function withinValidity(certificate: X509Certificate, now: number): boolean {
  return now >= Date.parse(certificate.validFrom) && now <= Date.parse(certificate.validTo);
}

/** Pinned, or issued and signed by a trusted CA certificate that is valid now (one level, no path building). */
function trustOf(
  candidate: X509Certificate,
  trusted: readonly X509Certificate[],
  now: number,
): VerifiedSigner['trust'] | undefined {
  const der = candidate.raw;
  if (trusted.some((t) => t.raw.equals(der))) return 'pinned';
  for (const issuer of trusted) {
    if (!issuer.ca || !withinValidity(issuer, now)) continue;
    try {
      if (candidate.checkIssued(issuer) && candidate.verify(issuer.publicKey)) return 'issued-by-trusted';
    } catch {
      // not this issuer
    }
  }
  return undefined;
}

function checkValidity(certificate: X509Certificate, now: number): void {
  if (!withinValidity(certificate, now)) {
    fail(
      'GW_ERR_UNAUTHORIZED',
      `the signer certificate is not valid at ${new Date(now).toISOString()} (${certificate.validFrom} .. ${certificate.validTo})`,
    );
  }
}

/** ReplayProtect from the canonical ds:Object xml-crypto verified. */
function readReplayProtect(canonicalObject: string): { timestamp: number; nonce: string } | undefined {
  const element = parseXmlTree(canonicalObject);
  const stack: XmlElement[] = [element];
  while (stack.length > 0) {
    const current = stack.pop() as XmlElement;
    if (current.ns === NS.dsp && current.local === 'ReplayProtect') {
      const timestamp = childrenNamed(current, NS.dsp, 'timestamp')[0];
      const nonce = childrenNamed(current, NS.dsp, 'nonce')[0];
      if (timestamp === undefined || nonce === undefined)
        fail('GW_ERR_UNAUTHORIZED', 'ReplayProtect lacks timestamp or nonce');
      try {
        return { timestamp: parseDateTime(timestamp.text), nonce: nonce.text.trim() };
      } catch (error) {
        if (error instanceof ValueError)
          return fail('GW_ERR_UNAUTHORIZED', `ReplayProtect timestamp: ${error.message}`);
        throw error;
      }
    }
    stack.push(...current.children);
  }
  return undefined;
}

function verifyWith(text: string, certificatePem: string): string[] | undefined {
  const verifier = new SignedXml({ publicCert: certificatePem });
  const document = new DOMParser({
    errorHandler: {
      warning: () => undefined,
      error: (message: string) => fail('GW_ERR_MALFORMED', `XML could not be parsed for verification: ${message}`),
      fatalError: (message: string) => fail('GW_ERR_MALFORMED', `XML could not be parsed for verification: ${message}`),
    },
  }).parseFromString(text, 'application/xml');
  const signatures = document.getElementsByTagNameNS(NS.ds, 'Signature');
  const signature = signatures.item(0);
  if (signatures.length !== 1 || signature === null)
    return fail('GW_ERR_HOSTILE_INPUT', 'signature: expected one ds:Signature');
  try {
    verifier.loadSignature(signature);
    if (!verifier.checkSignature(text)) return undefined;
  } catch {
    return undefined;
  }
  return verifier.getSignedReferences();
}

/**
 * Verify a signed 2.0b document and return its message parsed from the verified bytes. Accepts
 * `verifyOadr(xml, { trusted })` and the positional form `verifyOadr(xml, trustedCertificates)`.
 */
export function verifyOadr(input: string | Uint8Array, options: VerifyOptions): VerifiedOadr;
export function verifyOadr(input: string | Uint8Array, trusted: readonly string[]): VerifiedOadr;
export function verifyOadr(
  input: string | Uint8Array,
  optionsOrTrusted: VerifyOptions | readonly string[],
): VerifiedOadr {
  const options: VerifyOptions = Array.isArray(optionsOrTrusted)
    ? { trusted: optionsOrTrusted as readonly string[] }
    : (optionsOrTrusted as VerifyOptions);
  const text = bodyText(input, options.maxBytes ?? DEFAULT_MAX_BYTES);
  refuseHostileConstructs(text);
  const root = parseXmlTree(text);
  // Types first, so a malformed payload is reported as such whatever the signature says.
  const envelope = readEnvelope(root, options);
  const signedObject = root.children.find((c) => c.ns === NS.oadr && c.local === 'oadrSignedObject');
  const checked = checkStructure(root, signedObject === undefined ? undefined : signedObjectIdOf(signedObject));

  const now = options.now ?? Date.now();
  const trusted = (options.trusted ?? []).map((pem, i) => parseCertificate(pem, `trusted certificate ${i}`));
  if (trusted.length === 0) fail('GW_ERR_UNAUTHORIZED', 'no trusted certificates were given');

  const candidates: Array<{ pem: string; certificate: X509Certificate; trust: VerifiedSigner['trust'] }> = [];
  if (checked.certificates.length > 0) {
    const pem = checked.certificates[0] as string;
    const certificate = parseCertificate(pem, 'the KeyInfo certificate');
    const trust = trustOf(certificate, trusted, now);
    if (trust === undefined) {
      fail(
        'GW_ERR_UNAUTHORIZED',
        `the signer certificate (${certificate.subject.replace(/\n/g, ', ')}) is not trusted`,
      );
    }
    candidates.push({ pem, certificate, trust });
  } else {
    for (const certificate of trusted) candidates.push({ pem: certificate.toString(), certificate, trust: 'pinned' });
  }

  for (const candidate of candidates) {
    const signed = verifyWith(text, candidate.pem);
    if (signed === undefined) continue;
    checkValidity(candidate.certificate, now);
    const canonicalSignedObject = signed[checked.signedObjectReference];
    if (canonicalSignedObject === undefined)
      fail('GW_ERR_UNAUTHORIZED', 'signature: the oadrSignedObject was not verified');
    // Re-read the payload from what was verified (wrapped in an unsigned oadrPayload).
    const verifiedRoot = parseXmlTree(
      `<oadr:oadrPayload xmlns:oadr="${NS.oadr}">${canonicalSignedObject}</oadr:oadrPayload>`,
    );
    const verified = readEnvelope(verifiedRoot, options);
    let replayProtect: VerifiedOadr['replayProtect'];
    for (const index of checked.objectReferences.keys()) {
      const canonicalObject = signed[index];
      if (canonicalObject !== undefined) replayProtect ??= readReplayProtect(canonicalObject);
    }
    if (replayProtect === undefined && options.requireReplayProtect !== false) {
      fail('GW_ERR_UNAUTHORIZED', 'signature: no signed ReplayProtect (timestamp, nonce)');
    }
    if (
      replayProtect !== undefined &&
      options.maxAgeMs !== undefined &&
      Math.abs(now - replayProtect.timestamp) > options.maxAgeMs
    ) {
      fail(
        'GW_ERR_UNAUTHORIZED',
        `signature: ReplayProtect timestamp ${new Date(replayProtect.timestamp).toISOString()} is outside the replay window`,
      );
    }
    const result: VerifiedOadr = {
      message: verified.message,
      signed: true,
      signer: {
        certificate: candidate.certificate.toString(),
        subject: candidate.certificate.subject,
        fingerprint256: candidate.certificate.fingerprint256,
        trust: candidate.trust,
      },
    };
    if (envelope.signedObjectId !== undefined) result.signedObjectId = envelope.signedObjectId;
    if (replayProtect !== undefined) result.replayProtect = replayProtect;
    return result;
  }
  return fail('GW_ERR_UNAUTHORIZED', 'the XML signature does not verify (digest or signature value mismatch)');
}
