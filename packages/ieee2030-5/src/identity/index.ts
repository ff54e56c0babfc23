/** IEEE 2030.5 device identity: LFDI and SFDI from certificates, PEM handling, forwarded identities. */
export {
  certificateDerFromPem,
  type ForwardedIdentity,
  type ForwardedIdentitySource,
  identityFromForwardedHeader,
  lfdiFromPem,
  MAX_FORWARDED_HEADER_LENGTH,
  MAX_PEM_LENGTH,
  pemFromCertificateDer,
} from './certificate.ts';
export {
  certificateFingerprint,
  FINGERPRINT_HEX_LENGTH,
  isValidSfdi,
  LFDI_HEX_LENGTH,
  lfdiEquals,
  lfdiFromCertificate,
  MAX_SFDI,
  normaliseLfdi,
  sfdiFromLfdi,
} from './lfdi.ts';
