/** Object identifiers of the IEEE 2030.5 certificate profile (§6.11) and the X.509 parts it uses. */

/** The IEEE 2030.5 arc: { iso(1) identified-organization(3) dod(6) internet(1) private(4) enterprise(1) 40732 }. */
export const OID_IEEE_2030_5 = '1.3.6.1.4.1.40732';
/** Device-type policies (§6.11.7.2). */
export const POLICY_DEVICE_GENERIC = `${OID_IEEE_2030_5}.1.1`;
export const POLICY_DEVICE_MOBILE = `${OID_IEEE_2030_5}.1.2`;
export const POLICY_DEVICE_POST_MANUFACTURE = `${OID_IEEE_2030_5}.1.3`;
/** Certificate policies (§6.11.7.3). */
export const POLICY_TEST_CERTIFICATE = `${OID_IEEE_2030_5}.2.1`;
export const POLICY_SELF_SIGNED = `${OID_IEEE_2030_5}.2.2`;
export const POLICY_SERVICE_PROVIDER = `${OID_IEEE_2030_5}.2.3`;
export const POLICY_BULK_ISSUED = `${OID_IEEE_2030_5}.2.4`;
/** X.509 anyPolicy (RFC 5280 §4.2.1.4), the policy of a root (SERCA). */
export const POLICY_ANY = '2.5.29.32.0';

/** HardwareModuleName otherName (RFC 4108 §5, id-on-hardwareModuleName), the 2030.5 device SAN (§6.11.7.4). */
export const OID_HARDWARE_MODULE_NAME = '1.3.6.1.5.5.7.8.4';

/**
 * hwType of the test PKI's HardwareModuleName. A hardware type OID normally sits under the manufacturer's
 * enterprise number; Gridseam has none, so test certificates use the enterprise number IANA reserves for
 * documentation and examples, 32473 (RFC 5612). (A 2.25 UUID OID was avoided: its 128-bit arc does not
 * round-trip through every ASN.1 parser.)
 */
export const OID_GRIDSEAM_TEST_HARDWARE_TYPE = '1.3.6.1.4.1.32473.20305.1';

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_PRIME256V1 = '1.2.840.10045.3.1.7';

export const OID_COMMON_NAME = '2.5.4.3';
export const OID_ORGANIZATION = '2.5.4.10';

export const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_NAME_CONSTRAINTS = '2.5.29.30';
export const OID_CERTIFICATE_POLICIES = '2.5.29.32';
export const OID_POLICY_MAPPINGS = '2.5.29.33';
export const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
