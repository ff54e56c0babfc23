/**
 * Reads a certificate back and checks it against the IEEE 2030.5 certificate profile (§6.11), with the
 * rules strict clients apply (the EPRI client rejects a chain certificate whose basicConstraints, keyUsage,
 * certificatePolicies or subjectAltName is not critical, any other critical extension, policyMappings,
 * nameConstraints, or a CA certificate with a subjectAltName).
 */
import { GridseamError } from '@gridseam/model';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  CertificatePolicies,
  KeyUsage,
  type KeyUsageType,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';
import { HardwareModuleName, SEP_NOT_AFTER } from './certificate.ts';
import {
  OID_BASIC_CONSTRAINTS,
  OID_CERTIFICATE_POLICIES,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_WITH_SHA256,
  OID_HARDWARE_MODULE_NAME,
  OID_KEY_USAGE,
  OID_NAME_CONSTRAINTS,
  OID_POLICY_MAPPINGS,
  OID_PRIME256V1,
  OID_SUBJECT_ALT_NAME,
} from './oids.ts';

export interface CertificateExtensionSummary {
  oid: string;
  critical: boolean;
}

export interface CertificateSummary {
  signatureAlgorithm: string;
  publicKeyAlgorithm: string;
  /** The named curve OID of an EC key; undefined for other keys. */
  publicKeyCurve: string | undefined;
  notBefore: Date;
  notAfter: Date;
  notAfterEncoding: 'utcTime' | 'generalTime';
  /** Undefined when there is no basicConstraints extension. */
  isCa: boolean | undefined;
  keyUsage: KeyUsageType[];
  policies: string[];
  hardwareModules: Array<{ type: string; serialNumber: Uint8Array }>;
  dnsNames: string[];
  ipAddresses: string[];
  extensions: CertificateExtensionSummary[];
}

function decode<T>(bytes: ArrayBuffer | Uint8Array, type: new () => T, what: string): T {
  try {
    return AsnConvert.parse(bytes, type);
  } catch (error) {
    throw new GridseamError('GW_ERR_MALFORMED', `${what} is not valid DER`, { cause: error });
  }
}

/** The parts of a DER certificate the 2030.5 profile is about. Throws GW_ERR_MALFORMED for bad DER. */
export function summariseCertificate(der: Uint8Array): CertificateSummary {
  const certificate = decode(der, Certificate, 'the certificate');
  const tbs = certificate.tbsCertificate;
  const extensions = tbs.extensions ?? [];
  const extensionValue = (oid: string) => extensions.find((e) => e.extnID === oid)?.extnValue.buffer;

  const basic = extensionValue(OID_BASIC_CONSTRAINTS);
  const keyUsage = extensionValue(OID_KEY_USAGE);
  const policies = extensionValue(OID_CERTIFICATE_POLICIES);
  const san = extensionValue(OID_SUBJECT_ALT_NAME);
  const names = san ? Array.from(decode(san, SubjectAlternativeName, 'subjectAltName')) : [];
  const curveParameters = tbs.subjectPublicKeyInfo.algorithm.parameters;

  return {
    signatureAlgorithm: certificate.signatureAlgorithm.algorithm,
    publicKeyAlgorithm: tbs.subjectPublicKeyInfo.algorithm.algorithm,
    publicKeyCurve: curveParameters ? readObjectIdentifier(curveParameters) : undefined,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    notAfterEncoding: tbs.validity.notAfter.generalTime ? 'generalTime' : 'utcTime',
    isCa: basic ? decode(basic, BasicConstraints, 'basicConstraints').cA : undefined,
    keyUsage: keyUsage ? decode(keyUsage, KeyUsage, 'keyUsage').toJSON() : [],
    policies: policies
      ? Array.from(decode(policies, CertificatePolicies, 'certificatePolicies'), (p) => p.policyIdentifier)
      : [],
    hardwareModules: names
      .filter((name) => name.otherName?.typeId === OID_HARDWARE_MODULE_NAME)
      .map((name) => {
        const module = decode(name.otherName?.value ?? new ArrayBuffer(0), HardwareModuleName, 'HardwareModuleName');
        return { type: module.hwType, serialNumber: new Uint8Array(module.hwSerialNum.buffer) };
      }),
    dnsNames: names.flatMap((name) => (name.dNSName === undefined ? [] : [name.dNSName])),
    ipAddresses: names.flatMap((name) => (name.iPAddress === undefined ? [] : [name.iPAddress])),
    extensions: extensions.map((e) => ({ oid: e.extnID, critical: e.critical })),
  };
}

/** An OBJECT IDENTIFIER from its DER bytes (the EC curve parameter), or undefined if it is something else. */
function readObjectIdentifier(bytes: ArrayBuffer): string | undefined {
  const view = new Uint8Array(bytes);
  if (view[0] !== 0x06 || view[1] === undefined || view[1] !== view.length - 2 || view.length < 3) return undefined;
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of view.subarray(2)) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift();
  if (first === undefined) return undefined;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

const CRITICAL_EXTENSIONS = new Set([
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  OID_CERTIFICATE_POLICIES,
  OID_SUBJECT_ALT_NAME,
]);

/**
 * What keeps a certificate from the 2030.5 profile, as readable sentences; empty when it conforms.
 * `role` is what the certificate is meant to be; by default it is read from basicConstraints.
 */
export function sepProfileProblems(der: Uint8Array, options: { role?: 'ca' | 'end-entity' } = {}): string[] {
  const summary = summariseCertificate(der);
  const problems: string[] = [];
  const role = options.role ?? (summary.isCa ? 'ca' : 'end-entity');
  const extension = (oid: string) => summary.extensions.find((e) => e.oid === oid);

  if (summary.signatureAlgorithm !== OID_ECDSA_WITH_SHA256)
    problems.push(`signature algorithm is ${summary.signatureAlgorithm}, not ecdsa-with-SHA256`);
  if (summary.publicKeyAlgorithm !== OID_EC_PUBLIC_KEY || summary.publicKeyCurve !== OID_PRIME256V1)
    problems.push('the public key is not an ECDSA P-256 (prime256v1) key');
  if (summary.notAfter.getTime() !== SEP_NOT_AFTER.getTime() || summary.notAfterEncoding !== 'generalTime')
    problems.push(`notAfter is ${summary.notAfter.toISOString()}, not 99991231235959Z (GeneralizedTime)`);

  for (const oid of CRITICAL_EXTENSIONS) {
    const present = extension(oid);
    const required = oid !== OID_SUBJECT_ALT_NAME || role === 'end-entity';
    if (!present && required) problems.push(`extension ${oid} is missing`);
    if (present && !present.critical) problems.push(`extension ${oid} is not critical`);
  }
  for (const e of summary.extensions) {
    if (e.oid === OID_POLICY_MAPPINGS) problems.push('policyMappings is not allowed');
    else if (e.oid === OID_NAME_CONSTRAINTS) problems.push('nameConstraints is not allowed');
    else if (e.critical && !CRITICAL_EXTENSIONS.has(e.oid)) problems.push(`extension ${e.oid} must not be critical`);
  }
  if (new Set(summary.extensions.map((e) => e.oid)).size !== summary.extensions.length)
    problems.push('an extension appears more than once');

  if (summary.isCa !== undefined && summary.isCa !== (role === 'ca'))
    problems.push(`basicConstraints cA is ${summary.isCa} for a ${role} certificate`);
  if (summary.policies.length === 0 && extension(OID_CERTIFICATE_POLICIES))
    problems.push('certificatePolicies holds no policy');
  if (role === 'ca') {
    if (!summary.keyUsage.includes('keyCertSign')) problems.push('a CA certificate needs keyUsage keyCertSign');
    if (extension(OID_SUBJECT_ALT_NAME)) problems.push('a CA certificate must not have a subjectAltName');
  } else {
    for (const usage of ['digitalSignature', 'keyAgreement'] as const)
      if (!summary.keyUsage.includes(usage)) problems.push(`keyUsage lacks ${usage}`);
    if (summary.keyUsage.includes('keyCertSign')) problems.push('an end-entity certificate must not have keyCertSign');
    if (summary.hardwareModules.length !== 1)
      problems.push(`subjectAltName must hold one HardwareModuleName, found ${summary.hardwareModules.length}`);
  }
  return problems;
}
