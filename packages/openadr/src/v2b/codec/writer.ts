/**
 * String builder for the emitter: elements are written in the order the typed writers call them (xs:sequence
 * order); values are checked and formatted on the way. A missing required value, a value of the wrong JS type,
 * out of range, NaN/Infinity or a character XML cannot carry is GW_ERR_VALIDATION naming the element path.
 */
import { GridseamError } from '@gridseam/model';
import { describe, type Enumeration, ValueError } from './values.ts';
import { escapeAttribute, escapeText, hasForbiddenXmlChar } from './xml.ts';

export type Formatter = (value: unknown) => string;

export class ElementWriter {
  private out = '';
  private readonly path: Array<string | number> = [];

  constructor(readonly rootName: string) {}

  pathString(extra?: string): string {
    let path = this.rootName;
    for (const segment of this.path) path += typeof segment === 'number' ? `[${segment}]` : `/${segment}`;
    return extra === undefined ? path : `${path}/${extra}`;
  }

  fail(message: string, extra?: string): never {
    const path = this.pathString(extra);
    throw new GridseamError('GW_ERR_VALIDATION', `cannot emit ${path}: ${message}`, { details: { path } });
  }

  result(): string {
    return this.out;
  }

  raw(xml: string): void {
    this.out += xml;
  }

  private format(value: unknown, format: Formatter, where: string): string {
    try {
      return format(value);
    } catch (error) {
      if (error instanceof ValueError) return this.fail(error.message, where);
      throw error;
    }
  }

  /** A complex element; `body` writes its children. `attributes` is pre-escaped ` name="value"` text. */
  element(tag: string, body: () => void, attributes = '', index?: number): void {
    this.path.push(localOf(tag));
    if (index !== undefined) this.path.push(index);
    this.out += `<${tag}${attributes}>`;
    const before = this.out.length;
    body();
    if (this.out.length === before) this.out = `${this.out.slice(0, -1)}/>`;
    else this.out += `</${tag}>`;
    if (index !== undefined) this.path.pop();
    this.path.pop();
  }

  private object<T>(tag: string, value: T | undefined, index?: number): T {
    const where = index === undefined ? localOf(tag) : `${localOf(tag)}[${index}]`;
    if (value === undefined || value === null) return this.fail('required element is missing', where);
    if (typeof value !== 'object' || Array.isArray(value))
      return this.fail(`${describe(value)} is not an object`, where);
    return value;
  }

  /** A required complex element from a value that must be an object. */
  complex<T>(tag: string, value: T | undefined, write: (value: T) => void): void {
    const checked = this.object(tag, value);
    this.element(tag, () => write(checked));
  }

  optComplex<T>(tag: string, value: T | undefined, write: (value: T) => void): void {
    if (value !== undefined && value !== null) this.complex(tag, value, write);
  }

  /** Repeated complex elements (`min` of them at least). */
  repeated<T>(tag: string, values: readonly T[] | undefined, write: (value: T) => void, min = 0): void {
    const list = this.array(tag, values, min);
    for (let i = 0; i < list.length; i++) {
      const checked = this.object(tag, list[i], i);
      this.element(tag, () => write(checked), '', i);
    }
  }

  private array<T>(tag: string, values: readonly T[] | undefined, min: number): readonly T[] {
    if (values === undefined || values === null) {
      if (min > 0) this.fail('required element is missing', localOf(tag));
      return [];
    }
    if (!Array.isArray(values)) this.fail(`${describe(values)} is not an array`, localOf(tag));
    if (values.length < min) this.fail(`at least ${min} item(s) required`, localOf(tag));
    return values;
  }

  /** A required simple element. */
  simple(tag: string, value: unknown, format: Formatter): void {
    if (value === undefined || value === null) this.fail('required element is missing', localOf(tag));
    this.out += `<${tag}>${this.format(value, format, localOf(tag))}</${tag}>`;
  }

  optSimple(tag: string, value: unknown, format: Formatter): void {
    if (value !== undefined && value !== null) this.simple(tag, value, format);
  }

  /** Repeated simple elements. */
  simpleList(tag: string, values: readonly unknown[] | undefined, format: Formatter, min = 0): void {
    const list = this.array(tag, values, min);
    for (let i = 0; i < list.length; i++) {
      const item = list[i];
      if (item === undefined || item === null) this.fail('list item is missing', `${localOf(tag)}[${i}]`);
      this.out += `<${tag}>${this.format(item, format, `${localOf(tag)}[${i}]`)}</${tag}>`;
    }
  }
}

function localOf(tag: string): string {
  const colon = tag.indexOf(':');
  return colon === -1 ? tag : tag.slice(colon + 1);
}

/** xs:string: any text XML can carry. */
export const stringText: Formatter = (value) => {
  if (typeof value !== 'string') throw new ValueError(`${describe(value)} is not a string`);
  if (hasForbiddenXmlChar(value)) throw new ValueError(`${describe(value)} contains a character XML cannot carry`);
  return escapeText(value);
};

/** Attribute text. */
export function attributeText(value: string): string {
  if (hasForbiddenXmlChar(value)) throw new ValueError(`${describe(value)} contains a character XML cannot carry`);
  return escapeAttribute(value);
}

/** An enumeration member (or an x- extension where the schema allows one). */
export function enumText<T extends string>(e: Enumeration<T>): Formatter {
  return (value) => {
    if (typeof value !== 'string') throw new ValueError(`${describe(value)} is not a ${e.name}`);
    if (e.check(value) !== value) throw new ValueError(`${describe(value)} is not a ${e.name} (surrounding spaces)`);
    return escapeText(value);
  };
}
