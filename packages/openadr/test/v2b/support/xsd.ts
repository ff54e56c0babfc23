/**
 * The test VTN's XSD check of every VEN message, through the codec tests' helper (test/helpers/xsd.ts:
 * Debian xmllint against the 2.0b XSD set). `undefined` (checks skipped) when xmllint or the XSDs are missing.
 */
import { validateOadr, xsdSkipReason } from '../../helpers/xsd.ts';

export { SAMPLES_DIR, sharedSkipReason, xsdSkipReason } from '../../helpers/xsd.ts';

export async function xsdValidator(): Promise<((xml: string) => readonly string[]) | undefined> {
  if (xsdSkipReason() !== undefined) return undefined;
  return (xml) => {
    const result = validateOadr(xml);
    return result.valid ? [] : result.errors.length > 0 ? result.errors : ['not valid'];
  };
}
