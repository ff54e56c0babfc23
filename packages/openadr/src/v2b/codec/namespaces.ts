/** Namespace URIs of the OpenADR 2.0b schema set (oadr_20b.xsd and its imports) and the prefixes we emit. */
export const NS = {
  oadr: 'http://openadr.org/oadr-2.0b/2012/07',
  ei: 'http://docs.oasis-open.org/ns/energyinterop/201110',
  pyld: 'http://docs.oasis-open.org/ns/energyinterop/201110/payloads',
  emix: 'http://docs.oasis-open.org/ns/emix/2011/06',
  strm: 'urn:ietf:params:xml:ns:icalendar-2.0:stream',
  xcal: 'urn:ietf:params:xml:ns:icalendar-2.0',
  power: 'http://docs.oasis-open.org/ns/emix/2011/06/power',
  scale: 'http://docs.oasis-open.org/ns/emix/2011/06/siscale',
  gml: 'http://www.opengis.net/gml/3.2',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  dsp: 'http://openadr.org/oadr-2.0b/2012/07/xmldsig-properties',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export type Prefix = keyof typeof NS;

/** The `xml` prefix is bound by definition (Namespaces in XML 1.0 §3). */
export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** Prefixes declared on the emitted oadrPayload root. */
export const EMITTED_PREFIXES: readonly Prefix[] = [
  'oadr',
  'ei',
  'pyld',
  'emix',
  'strm',
  'xcal',
  'power',
  'scale',
  'gml',
  'ds',
];
