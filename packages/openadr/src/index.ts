/**
 * @gridseam/openadr: OpenADR 2.0b codec and VEN, 3.x types, VEN and VTN.
 * Planned in issue 7; this package holds no code yet.
 */
export const PACKAGE = '@gridseam/openadr';
