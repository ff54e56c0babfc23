/** IEEE 2030.5 certificates: the §6.11 profile, a test PKI, and checks of certificates against the profile. */
export {
  type CertificateIssuer,
  type CertificateRole,
  type HardwareModule,
  HardwareModuleName,
  type IssueCertificateOptions,
  type IssuedCertificate,
  issueCertificate,
  keyIdentifier,
  type NameAttribute,
  SEP_NOT_AFTER,
} from './certificate.ts';
export * from './oids.ts';
export {
  type CertificateExtensionSummary,
  type CertificateSummary,
  sepProfileProblems,
  summariseCertificate,
} from './profile.ts';
export {
  type CreateTestPkiOptions,
  createTestPki,
  hasTestPki,
  MAX_TEST_PKI_CLIENTS,
  type PkiClient,
  type PkiClientKind,
  type PkiClientSpec,
  type PkiCredential,
  type PkiEndEntity,
  type PkiFiles,
  type PkiServer,
  readTestPki,
  TEST_PKI_FORMAT,
  TEST_PKI_MANIFEST,
  type TestPki,
  type TestPkiManifest,
  writeTestPki,
} from './test-pki.ts';
