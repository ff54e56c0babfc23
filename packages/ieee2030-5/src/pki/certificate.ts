/**
 * Issues X.509 certificates in the IEEE 2030.5 profile (§6.11): ECDSA P-256 keys signed with
 * ecdsa-with-SHA256, a notAfter of 99991231235959Z, and the extensions the profile marks critical
 * (basicConstraints, keyUsage, certificatePolicies, subjectAltName) marked critical; the key identifiers
 * are not critical, and there is never a policyMappings or nameConstraints extension.
 *
 * The TBSCertificate is built with @peculiar/asn1-x509 and signed with node:crypto.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { GridseamError } from '@gridseam/model';
import { AsnConvert, AsnProp, AsnPropTypes, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  CertificatePolicies,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  OtherName,
  PolicyInformation,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import {
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_CERTIFICATE_POLICIES,
  OID_ECDSA_WITH_SHA256,
  OID_HARDWARE_MODULE_NAME,
  OID_KEY_USAGE,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_IDENTIFIER,
} from './oids.ts';

/** The notAfter of every 2030.5 certificate: no well-defined expiration (§6.11.8.3, RFC 5280 §4.1.2.5). */
export const SEP_NOT_AFTER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

/** HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING } (RFC 4108 §5). */
export class HardwareModuleName {
  hwType = '';
  hwSerialNum = new OctetString();

  constructor(params: Partial<HardwareModuleName> = {}) {
    Object.assign(this, params);
  }
}
// The schema decorators applied as plain calls: this repository does not enable TypeScript decorators.
AsnProp({ type: AsnPropTypes.ObjectIdentifier })(HardwareModuleName.prototype, 'hwType');
AsnProp({ type: OctetString })(HardwareModuleName.prototype, 'hwSerialNum');

export interface HardwareModule {
  /** hwType OID. */
  type: string;
  /** hwSerialNum; text is stored as UTF-8. */
  serialNumber: string | Uint8Array;
}

/** A Distinguished Name attribute: its OID and a UTF-8 value. */
export interface NameAttribute {
  type: string;
  value: string;
}

export type CertificateRole = 'ca' | 'end-entity';

export interface CertificateIssuer {
  name: readonly NameAttribute[];
  privateKey: KeyObject;
  /** The issuer's subjectKeyIdentifier, repeated as this certificate's authorityKeyIdentifier. */
  keyIdentifier: Uint8Array;
}

export interface IssueCertificateOptions {
  role: CertificateRole;
  publicKey: KeyObject;
  /** Empty for 2030.5 device certificates (identity is in the SAN and the LFDI). */
  subject: readonly NameAttribute[];
  /** The signer; omitted for a self-signed certificate, which is then signed with `selfSignKey`. */
  issuer?: CertificateIssuer;
  selfSignKey?: KeyObject;
  policies: readonly string[];
  /** Required for end entities: the HardwareModuleName otherName of the SAN. */
  hardwareModule?: HardwareModule;
  /** Extra SAN entries: host names become dNSName, IP literals become iPAddress. */
  hostnames?: readonly string[];
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssuedCertificate {
  der: Uint8Array;
  subjectKeyIdentifier: Uint8Array;
}

function internal(message: string, cause?: unknown): GridseamError {
  return new GridseamError('GW_ERR_INTERNAL', message, cause === undefined ? {} : { cause });
}

function distinguishedName(attributes: readonly NameAttribute[]): Name {
  return new Name(
    attributes.map(
      (attribute) =>
        new RelativeDistinguishedName([
          new AttributeTypeAndValue({
            type: attribute.type,
            value: new AttributeValue({ utf8String: attribute.value }),
          }),
        ]),
    ),
  );
}

/** A positive 127-bit serial number whose DER INTEGER has no leading zero byte (RFC 5280 §4.1.2.2). */
function randomSerialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return new Uint8Array(bytes).buffer;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return new Uint8Array(bytes).buffer;
}

function extension(oid: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID: oid, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** subjectKeyIdentifier: SHA-1 of the subjectPublicKey BIT STRING value (RFC 5280 §4.2.1.2, method 1). */
export function keyIdentifier(spki: SubjectPublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest());
}

function subjectAltName(hardwareModule: HardwareModule | undefined, hostnames: readonly string[]): GeneralName[] {
  const names: GeneralName[] = [];
  if (hardwareModule) {
    const serial =
      typeof hardwareModule.serialNumber === 'string'
        ? new TextEncoder().encode(hardwareModule.serialNumber)
        : hardwareModule.serialNumber;
    const module = new HardwareModuleName({ hwType: hardwareModule.type, hwSerialNum: new OctetString(serial) });
    names.push(
      new GeneralName({
        otherName: new OtherName({ typeId: OID_HARDWARE_MODULE_NAME, value: AsnConvert.serialize(module) }),
      }),
    );
  }
  for (const host of hostnames) {
    names.push(new GeneralName(isIP(host) === 0 ? { dNSName: host } : { iPAddress: host }));
  }
  return names;
}

/** Issues one certificate; the result is checked against the issuer's public key before it is returned. */
export function issueCertificate(options: IssueCertificateOptions): IssuedCertificate {
  const signer = options.issuer?.privateKey ?? options.selfSignKey;
  if (!signer) throw internal('issueCertificate needs an issuer or a key to self-sign with');
  const isCa = options.role === 'ca';
  if (!isCa && !options.hardwareModule) throw internal('an end-entity 2030.5 certificate needs a HardwareModuleName');

  const spki = AsnConvert.parse(options.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const subjectKeyIdentifier = keyIdentifier(spki);
  const subject = distinguishedName(options.subject);
  const issuerName = options.issuer ? distinguishedName(options.issuer.name) : subject;

  const extensions: Extension[] = [
    extension(OID_BASIC_CONSTRAINTS, true, new BasicConstraints({ cA: isCa })),
    extension(
      OID_KEY_USAGE,
      true,
      new KeyUsage(
        isCa
          ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign
          : KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement,
      ),
    ),
  ];
  const altNames = subjectAltName(options.hardwareModule, options.hostnames ?? []);
  // A CA carries no SAN: strict clients (the EPRI client) reject a CA certificate that has one.
  if (!isCa && altNames.length > 0)
    extensions.push(extension(OID_SUBJECT_ALT_NAME, true, new SubjectAlternativeName(altNames)));
  extensions.push(
    extension(
      OID_CERTIFICATE_POLICIES,
      true,
      new CertificatePolicies(options.policies.map((policy) => new PolicyInformation({ policyIdentifier: policy }))),
    ),
    extension(OID_SUBJECT_KEY_IDENTIFIER, false, new SubjectKeyIdentifier(subjectKeyIdentifier)),
  );
  if (options.issuer)
    extensions.push(
      extension(
        OID_AUTHORITY_KEY_IDENTIFIER,
        false,
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(options.issuer.keyIdentifier) }),
      ),
    );

  const notBefore = new Date(options.notBefore ?? Date.now() - 60_000);
  notBefore.setUTCMilliseconds(0);
  const signatureAlgorithm = new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 });
  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: randomSerialNumber(),
    signature: signatureAlgorithm,
    issuer: issuerName,
    // Years from 2050 on are encoded as GeneralizedTime (RFC 5280 §4.1.2.5): 99991231235959Z.
    validity: new Validity({ notBefore, notAfter: options.notAfter ?? SEP_NOT_AFTER }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(extensions),
  });
  const tbs = new Uint8Array(AsnConvert.serialize(tbsCertificate));
  const signature = sign('sha256', tbs, { key: signer, dsaEncoding: 'der' });
  const der = new Uint8Array(
    AsnConvert.serialize(
      new Certificate({ tbsCertificate, signatureAlgorithm, signatureValue: toArrayBuffer(signature) }),
    ),
  );

  let verified: boolean;
  try {
    verified = new X509Certificate(der).verify(createPublicKey(signer));
  } catch (error) {
    throw internal('the issued certificate could not be parsed back', error);
  }
  if (!verified) throw internal('the issued certificate does not verify with its issuer key');
  return { der, subjectKeyIdentifier };
}
