/**
 * Readers and writers of the structures several messages share: eiResponse, eiTarget, emix:itemBase,
 * xcal:properties and the time helpers. Each `readX` takes the element itself, each `writeX` writes the
 * element's children in xs:sequence order (the caller writes the element).
 */
import { CURRENCY_CODE, CURRENCY_DESCRIPTION, REAL_POWER_UNIT, SI_SCALE_CODE, TEMPERATURE_UNIT } from './enums.ts';
import { NS, type Prefix } from './namespaces.ts';
import { asEnum, asString, type ElementReader, put } from './reader.ts';
import type {
  CalendarProperties,
  EiResponse,
  EiTarget,
  GmlFeatureCollection,
  ItemBase,
  PowerItemKind,
  QualifiedEventID,
  ScaledItemKind,
  TransportInterface,
} from './types.ts';
import {
  describe,
  type Enumeration,
  formatBoolean,
  formatDateTime,
  formatDecimal,
  formatDuration,
  formatFloat,
  formatResponseCode,
  formatUnsigned,
  parseBoolean,
  parseDateTime,
  parseDecimal,
  parseDuration,
  parseFloatValue,
  parseResponseCode,
  parseUnsigned,
  quote,
  ValueError,
} from './values.ts';
import { attributeText, type ElementWriter, enumText, stringText } from './writer.ts';

// ------------------------------------------------------------------ eiResponse, qualifiedEventID

export function readEiResponse(r: ElementReader): EiResponse {
  const out: EiResponse = {
    responseCode: r.req('ei', 'responseCode', parseResponseCode),
    requestID: r.req('pyld', 'requestID', asString),
  };
  put(out, 'responseDescription', r.optValue('ei', 'responseDescription', asString));
  return out;
}

export function writeEiResponse(w: ElementWriter, v: EiResponse): void {
  w.simple('ei:responseCode', v.responseCode, formatResponseCode);
  w.optSimple('ei:responseDescription', v.responseDescription, stringText);
  w.simple('pyld:requestID', v.requestID, stringText);
}

export function readQualifiedEventID(r: ElementReader): QualifiedEventID {
  return {
    eventID: r.req('ei', 'eventID', asString),
    modificationNumber: r.req('ei', 'modificationNumber', (raw) => parseUnsigned(raw)),
  };
}

export function writeQualifiedEventID(w: ElementWriter, v: QualifiedEventID): void {
  w.simple('ei:eventID', v.eventID, stringText);
  w.simple('ei:modificationNumber', v.modificationNumber, (x) => formatUnsigned(x));
}

// ------------------------------------------------------------------ wrapped simple values

/** `<prefix:local><xcal:date-time>…</xcal:date-time></prefix:local>` (xcal:dtstart). */
export function readDtstart(r: ElementReader | undefined): number | undefined {
  return r?.req('xcal', 'date-time', parseDateTime);
}

export function writeDtstart(w: ElementWriter, value: number | undefined, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) w.fail('required element is missing', 'dtstart');
    return;
  }
  w.element('xcal:dtstart', () => w.simple('xcal:date-time', value, formatDateTime));
}

/** An xcal:DurationPropType element (a wrapper holding xcal:duration). */
export function readDurationProp(r: ElementReader | undefined): number | undefined {
  return r?.req('xcal', 'duration', parseDuration);
}

export function writeDurationProp(w: ElementWriter, tag: string, value: number | undefined, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) w.fail('required element is missing', tag.slice(tag.indexOf(':') + 1));
    return;
  }
  w.element(tag, () => w.simple('xcal:duration', value, formatDuration));
}

/** xcal:uid/xcal:text. */
export function readUid(r: ElementReader | undefined): string | undefined {
  return r?.req('xcal', 'text', asString);
}

export function writeUid(w: ElementWriter, value: string | undefined): void {
  if (value === undefined || value === null) return;
  w.element('xcal:uid', () => w.simple('xcal:text', value, stringText));
}

// ------------------------------------------------------------------ xcal:properties

export function readProperties(r: ElementReader): CalendarProperties {
  const out: CalendarProperties = {
    dtstart: readDtstart(r.one('xcal', 'dtstart')) as number,
    duration: readDurationProp(r.one('xcal', 'duration')) as number,
  };
  const tolerance = r.opt('xcal', 'tolerance');
  if (tolerance !== undefined)
    put(out, 'startafter', tolerance.one('xcal', 'tolerate').optValue('xcal', 'startafter', parseDuration));
  put(out, 'notification', readDurationProp(r.opt('ei', 'x-eiNotification')));
  put(out, 'rampUp', readDurationProp(r.opt('ei', 'x-eiRampUp')));
  put(out, 'recovery', readDurationProp(r.opt('ei', 'x-eiRecovery')));
  return out;
}

export function writeProperties(w: ElementWriter, v: CalendarProperties): void {
  writeDtstart(w, v.dtstart, true);
  writeDurationProp(w, 'xcal:duration', v.duration, true);
  if (v.startafter !== undefined && v.startafter !== null) {
    w.element('xcal:tolerance', () =>
      w.element('xcal:tolerate', () => w.simple('xcal:startafter', v.startafter, formatDuration)),
    );
  }
  writeDurationProp(w, 'ei:x-eiNotification', v.notification, false);
  writeDurationProp(w, 'ei:x-eiRampUp', v.rampUp, false);
  writeDurationProp(w, 'ei:x-eiRecovery', v.recovery, false);
}

// ------------------------------------------------------------------ ei:EiTargetType

const NCNAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function asNcName(raw: string): string {
  const s = raw.trim();
  if (!NCNAME_RE.test(s)) throw new ValueError(`${quote(s)} is not an xs:ID (NCName)`);
  return s;
}

const ncNameText = (value: unknown): string => {
  if (typeof value !== 'string' || asNcName(value) !== value) {
    throw new ValueError(`${describe(value)} is not an xs:ID (NCName)`);
  }
  return value;
};

function asDoubleList(raw: string): number[] {
  const items = raw.trim() === '' ? [] : raw.trim().split(/[\t\n\r ]+/);
  return items.map((item) => {
    if (!/^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(item)) {
      throw new ValueError(`${quote(item)} is not a finite number`);
    }
    const n = Number(item) + 0;
    if (!Number.isFinite(n)) throw new ValueError(`${quote(item)} is out of range`);
    return n;
  });
}

const doubleListText = (value: unknown): string => {
  if (!Array.isArray(value)) throw new ValueError(`${describe(value)} is not an array of numbers`);
  return value
    .map((n) => {
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new ValueError(`${describe(n)} is not a finite number`);
      return String(n + 0);
    })
    .join(' ');
};

function readFeatureCollection(r: ElementReader): GmlFeatureCollection {
  const collection = r.one('gml', 'FeatureCollection');
  const polygon = collection.one('gml', 'location').one('gml', 'Polygon');
  const out: GmlFeatureCollection = {
    posList: polygon.one('gml', 'exterior').one('gml', 'LinearRing').req('gml', 'posList', asDoubleList),
  };
  put(out, 'id', collection.attribute(NS.gml, 'id', asNcName));
  put(out, 'polygonId', polygon.attribute(NS.gml, 'id', asNcName));
  return out;
}

function gmlIdAttribute(w: ElementWriter, value: string | undefined): string {
  if (value === undefined || value === null) return '';
  try {
    return ` gml:id="${attributeText(ncNameText(value))}"`;
  } catch (error) {
    if (error instanceof ValueError) return w.fail(error.message, '@gml:id');
    throw error;
  }
}

function writeFeatureCollection(w: ElementWriter, v: GmlFeatureCollection): void {
  w.element(
    'gml:FeatureCollection',
    () =>
      w.element('gml:location', () =>
        w.element(
          'gml:Polygon',
          () =>
            w.element('gml:exterior', () =>
              w.element('gml:LinearRing', () => w.simple('gml:posList', v.posList, doubleListText)),
            ),
          gmlIdAttribute(w, v.polygonId),
        ),
      ),
    gmlIdAttribute(w, v.id),
  );
}

function readNodeList(r: ElementReader, local: string, inner: 'node' | 'mrid'): string[] | undefined {
  return r.listOf('power', local, (child) => child.req('power', inner, asString));
}

export function readTarget(r: ElementReader): EiTarget {
  const out: EiTarget = {};
  put(out, 'aggregatedPnode', readNodeList(r, 'aggregatedPnode', 'node'));
  put(out, 'endDeviceAsset', readNodeList(r, 'endDeviceAsset', 'mrid'));
  put(out, 'meterAsset', readNodeList(r, 'meterAsset', 'mrid'));
  put(out, 'pnode', readNodeList(r, 'pnode', 'node'));
  put(out, 'serviceArea', r.listOf('emix', 'serviceArea', readFeatureCollection));
  put(out, 'serviceDeliveryPoint', readNodeList(r, 'serviceDeliveryPoint', 'node'));
  put(out, 'serviceLocation', r.listOf('power', 'serviceLocation', readFeatureCollection));
  put(
    out,
    'transportInterface',
    r.listOf(
      'power',
      'transportInterface',
      (child): TransportInterface => ({
        pointOfReceipt: child.req('power', 'pointOfReceipt', asString),
        pointOfDelivery: child.req('power', 'pointOfDelivery', asString),
      }),
    ),
  );
  put(out, 'groupID', r.list('ei', 'groupID', asString));
  put(out, 'groupName', r.list('ei', 'groupName', asString));
  put(out, 'resourceID', r.list('ei', 'resourceID', asString));
  put(out, 'venID', r.list('ei', 'venID', asString));
  put(out, 'partyID', r.list('ei', 'partyID', asString));
  return out;
}

export function writeTarget(w: ElementWriter, v: EiTarget): void {
  const nodes = (tag: string, inner: string, values: readonly string[] | undefined): void => {
    const list = values ?? [];
    if (!Array.isArray(list)) w.fail(`${describe(list)} is not an array`, tag.slice(tag.indexOf(':') + 1));
    list.forEach((value, i) => {
      w.element(tag, () => w.simple(inner, value, stringText), '', i);
    });
  };
  nodes('power:aggregatedPnode', 'power:node', v.aggregatedPnode);
  nodes('power:endDeviceAsset', 'power:mrid', v.endDeviceAsset);
  nodes('power:meterAsset', 'power:mrid', v.meterAsset);
  nodes('power:pnode', 'power:node', v.pnode);
  w.repeated('emix:serviceArea', v.serviceArea, (x) => writeFeatureCollection(w, x));
  nodes('power:serviceDeliveryPoint', 'power:node', v.serviceDeliveryPoint);
  w.repeated('power:serviceLocation', v.serviceLocation, (x) => writeFeatureCollection(w, x));
  w.repeated('power:transportInterface', v.transportInterface, (x) => {
    w.simple('power:pointOfReceipt', x.pointOfReceipt, stringText);
    w.simple('power:pointOfDelivery', x.pointOfDelivery, stringText);
  });
  w.simpleList('ei:groupID', v.groupID, stringText);
  w.simpleList('ei:groupName', v.groupName, stringText);
  w.simpleList('ei:resourceID', v.resourceID, stringText);
  w.simpleList('ei:venID', v.venID, stringText);
  w.simpleList('ei:partyID', v.partyID, stringText);
}

// ------------------------------------------------------------------ emix:itemBase

type Constraint = { fixed: string } | { oneOf: Enumeration<string> } | 'any';

interface ItemDefinition {
  prefix: Extract<Prefix, 'power' | 'oadr'>;
  shape: 'scaled' | 'power' | 'pulse';
  description: Constraint;
  units: Constraint;
}

/** The members of the emix:itemBase substitution group that 2.0b defines (power and oadr schemas). */
const ITEM_DEFINITIONS: Readonly<Record<ItemBase['kind'], ItemDefinition>> = {
  voltage: { prefix: 'power', shape: 'scaled', description: { fixed: 'Voltage' }, units: { fixed: 'V' } },
  energyApparent: {
    prefix: 'power',
    shape: 'scaled',
    description: { fixed: 'ApparentEnergy' },
    units: { fixed: 'VAh' },
  },
  energyReactive: {
    prefix: 'power',
    shape: 'scaled',
    description: { fixed: 'ReactiveEnergy' },
    units: { fixed: 'VARh' },
  },
  energyReal: { prefix: 'power', shape: 'scaled', description: { fixed: 'RealEnergy' }, units: { fixed: 'Wh' } },
  powerApparent: { prefix: 'power', shape: 'power', description: { fixed: 'ApparentPower' }, units: { fixed: 'VA' } },
  powerReactive: { prefix: 'power', shape: 'power', description: { fixed: 'ReactivePower' }, units: { fixed: 'VAR' } },
  powerReal: {
    prefix: 'power',
    shape: 'power',
    description: { fixed: 'RealPower' },
    units: { oneOf: REAL_POWER_UNIT },
  },
  customUnit: { prefix: 'oadr', shape: 'scaled', description: 'any', units: 'any' },
  current: { prefix: 'oadr', shape: 'scaled', description: { fixed: 'Current' }, units: { fixed: 'A' } },
  currency: {
    prefix: 'oadr',
    shape: 'scaled',
    description: { oneOf: CURRENCY_DESCRIPTION },
    units: { oneOf: CURRENCY_CODE },
  },
  currencyPerKWh: {
    prefix: 'oadr',
    shape: 'scaled',
    description: { oneOf: CURRENCY_DESCRIPTION },
    units: { oneOf: CURRENCY_CODE },
  },
  currencyPerKW: {
    prefix: 'oadr',
    shape: 'scaled',
    description: { oneOf: CURRENCY_DESCRIPTION },
    units: { oneOf: CURRENCY_CODE },
  },
  currencyPerThm: {
    prefix: 'oadr',
    shape: 'scaled',
    description: { oneOf: CURRENCY_DESCRIPTION },
    units: { oneOf: CURRENCY_CODE },
  },
  frequency: { prefix: 'oadr', shape: 'scaled', description: { fixed: 'Frequency' }, units: { fixed: 'Hz' } },
  Therm: { prefix: 'oadr', shape: 'scaled', description: { fixed: 'Therm' }, units: { fixed: 'thm' } },
  temperature: {
    prefix: 'oadr',
    shape: 'scaled',
    description: { fixed: 'temperature' },
    units: { oneOf: TEMPERATURE_UNIT },
  },
  pulseCount: { prefix: 'oadr', shape: 'pulse', description: { fixed: 'pulse count' }, units: { fixed: 'count' } },
};

const ITEM_KINDS = Object.keys(ITEM_DEFINITIONS) as Array<ItemBase['kind']>;
/** Elements of the substitution group we do not model (Green Button feeds, abstract heads). */
const UNSUPPORTED_ITEMS = new Set(['oadrGBDataDescription', 'energyItem', 'powerItem', 'itemBase']);

/**
 * A fixed value (XSD: an empty element takes the fixed value) or an enumeration (xs:token: collapsed).
 */
function constrained(constraint: Constraint, what: string): (raw: string) => string {
  return (raw) => {
    if (constraint === 'any') return raw;
    if ('fixed' in constraint) {
      if (raw !== '' && raw !== constraint.fixed) {
        throw new ValueError(`${quote(raw)} is not the fixed ${what} ${quote(constraint.fixed)}`);
      }
      return raw;
    }
    return constraint.oneOf.check(raw);
  };
}

function constrainedText(constraint: Constraint, what: string): (value: unknown) => string {
  const check = constrained(constraint, what);
  return (value) => {
    if (typeof value !== 'string') throw new ValueError(`${describe(value)} is not a string`);
    if (check(value) !== value) throw new ValueError(`${describe(value)} is not a valid ${what}`);
    return stringText(value);
  };
}

/** The itemBase among `r`'s children, if any (at most one). */
export function readItemBase(r: ElementReader): ItemBase | undefined {
  let found: ItemBase | undefined;
  for (const child of r.elementChildren()) {
    const { ns, local } = child.element;
    if (UNSUPPORTED_ITEMS.has(local) && (ns === NS.oadr || ns === NS.emix || ns === NS.power)) {
      child.fail(`itemBase <${local}> is not supported`);
    }
    const kind = ITEM_KINDS.find((k) => k === local);
    if (kind === undefined) continue;
    const definition = ITEM_DEFINITIONS[kind];
    const expectedNs = NS[definition.prefix];
    if (ns !== expectedNs) continue;
    if (found !== undefined) child.fail('more than one itemBase');
    found = readItem(child, kind, definition);
  }
  return found;
}

function readItem(r: ElementReader, kind: ItemBase['kind'], d: ItemDefinition): ItemBase {
  const itemDescription = r.req(d.prefix, 'itemDescription', constrained(d.description, 'itemDescription'));
  const itemUnits = r.req(d.prefix, 'itemUnits', constrained(d.units, 'itemUnits'));
  if (d.shape === 'pulse') {
    return {
      kind: 'pulseCount',
      itemDescription,
      itemUnits,
      pulseFactor: r.req('oadr', 'pulseFactor', parseFloatValue),
    };
  }
  const siScaleCode = r.req('scale', 'siScaleCode', asEnum(SI_SCALE_CODE));
  if (d.shape === 'power') {
    const attributes = r.one('power', 'powerAttributes');
    return {
      kind: kind as PowerItemKind,
      itemDescription,
      itemUnits,
      siScaleCode,
      powerAttributes: {
        hertz: attributes.req('power', 'hertz', parseDecimal),
        voltage: attributes.req('power', 'voltage', parseDecimal),
        ac: attributes.req('power', 'ac', parseBoolean),
      },
    };
  }
  return { kind: kind as ScaledItemKind, itemDescription, itemUnits, siScaleCode };
}

export function writeItemBase(w: ElementWriter, v: ItemBase | undefined): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'object') w.fail(`${describe(v)} is not an itemBase object`, 'itemBase');
  const definition = ITEM_DEFINITIONS[v.kind];
  if (definition === undefined) w.fail(`unknown itemBase kind ${describe(v.kind)}`, 'itemBase');
  const p = definition.prefix;
  w.element(`${p}:${v.kind}`, () => {
    w.simple(`${p}:itemDescription`, v.itemDescription, constrainedText(definition.description, 'itemDescription'));
    w.simple(`${p}:itemUnits`, v.itemUnits, constrainedText(definition.units, 'itemUnits'));
    if (definition.shape === 'pulse') {
      w.simple('oadr:pulseFactor', (v as { pulseFactor?: unknown }).pulseFactor, formatFloat);
      return;
    }
    w.simple('scale:siScaleCode', (v as { siScaleCode?: unknown }).siScaleCode, enumText(SI_SCALE_CODE));
    if (definition.shape === 'power') {
      const attributes = 'powerAttributes' in v ? v.powerAttributes : undefined;
      w.complex('power:powerAttributes', attributes, (a) => {
        w.simple('power:hertz', a.hertz, formatDecimal);
        w.simple('power:voltage', a.voltage, formatDecimal);
        w.simple('power:ac', a.ac, formatBoolean);
      });
    }
  });
}

/** emix:marketContext text (xs:anyURI collapses whitespace, so surrounding spaces would not survive). */
export const uriText = (value: unknown): string => {
  if (typeof value !== 'string') throw new ValueError(`${describe(value)} is not a URI string`);
  if (value.trim() !== value) throw new ValueError(`${describe(value)} has surrounding whitespace`);
  return stringText(value);
};
