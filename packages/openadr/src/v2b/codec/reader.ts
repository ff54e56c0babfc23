/**
 * A cursor over one parsed element for the typed readers: children are looked up by namespace URI and local
 * name (any prefix, any order); unknown children are ignored. Failures are GW_ERR_VALIDATION with the element
 * path in the message and in `details.path`, e.g. `oadrDistributeEvent/oadrEvent[0]/eiEvent/eventDescriptor`.
 */
import { GridseamError } from '@gridseam/model';
import { NS, type Prefix } from './namespaces.ts';
import { type Enumeration, ValueError } from './values.ts';
import type { XmlElement } from './xml.ts';

export class ElementReader {
  constructor(
    readonly element: XmlElement,
    readonly path: string,
  ) {}

  fail(message: string, path = this.path): never {
    throw new GridseamError('GW_ERR_VALIDATION', `${path}: ${message}`, {
      details: { path },
      issues: [{ path: `/${path.replace(/\[(\d+)\]/g, '/$1')}`, message }],
    });
  }

  private matching(prefix: Prefix, local: string): XmlElement[] {
    const ns = NS[prefix];
    return this.element.children.filter((child) => child.local === local && child.ns === ns);
  }

  private missing(prefix: Prefix, local: string): never {
    const elsewhere = this.element.children.find((child) => child.local === local);
    const hint =
      elsewhere === undefined
        ? ''
        : ` (found <${elsewhere.name}> in namespace "${elsewhere.ns}", expected "${NS[prefix]}")`;
    return this.fail(`required element ${prefix}:${local} is missing${hint}`, `${this.path}/${local}`);
  }

  /** Exactly one child. */
  one(prefix: Prefix, local: string): ElementReader {
    const found = this.matching(prefix, local);
    const first = found[0];
    if (first === undefined) return this.missing(prefix, local);
    if (found.length > 1) this.fail('element appears more than once', `${this.path}/${local}`);
    return new ElementReader(first, `${this.path}/${local}`);
  }

  /** At most one child. */
  opt(prefix: Prefix, local: string): ElementReader | undefined {
    const found = this.matching(prefix, local);
    const first = found[0];
    if (first === undefined) return undefined;
    if (found.length > 1) this.fail('element appears more than once', `${this.path}/${local}`);
    return new ElementReader(first, `${this.path}/${local}`);
  }

  /** Repeated children (at least `min`). */
  many(prefix: Prefix, local: string, min = 0): ElementReader[] {
    const found = this.matching(prefix, local);
    if (found.length < min) {
      if (found.length === 0) this.missing(prefix, local);
      this.fail(`at least ${min} ${prefix}:${local} elements are required`, `${this.path}/${local}`);
    }
    return found.map((element, i) => new ElementReader(element, `${this.path}/${local}[${i}]`));
  }

  /** Character content of a simple-typed element. */
  text(): string {
    const child = this.element.children[0];
    if (child !== undefined) this.fail(`expected a simple value, found child element <${child.name}>`);
    return this.element.text;
  }

  /** Convert the simple content, turning ValueError into a validation error at this path. */
  value<T>(convert: (raw: string) => T): T {
    const raw = this.text();
    try {
      return convert(raw);
    } catch (error) {
      if (error instanceof ValueError) return this.fail(error.message);
      throw error;
    }
  }

  /** An attribute (by namespace URI and local name), converted; undefined when absent. */
  attribute<T>(ns: string, local: string, convert: (raw: string) => T): T | undefined {
    const found = this.element.attributes.find((a) => a.ns === ns && a.local === local);
    if (found === undefined) return undefined;
    try {
      return convert(found.value);
    } catch (error) {
      if (error instanceof ValueError) return this.fail(error.message, `${this.path}/@${local}`);
      throw error;
    }
  }

  // Shorthands for child values.

  /** Required simple child. */
  req<T>(prefix: Prefix, local: string, convert: (raw: string) => T): T {
    return this.one(prefix, local).value(convert);
  }

  /** Optional simple child. */
  optValue<T>(prefix: Prefix, local: string, convert: (raw: string) => T): T | undefined {
    return this.opt(prefix, local)?.value(convert);
  }

  /** Repeated simple children; undefined when there are none. */
  list<T>(prefix: Prefix, local: string, convert: (raw: string) => T): T[] | undefined {
    const items = this.many(prefix, local).map((child) => child.value(convert));
    return items.length === 0 ? undefined : items;
  }

  /** Repeated complex children; undefined when there are none. */
  listOf<T>(prefix: Prefix, local: string, read: (child: ElementReader) => T): T[] | undefined {
    const items = this.many(prefix, local).map(read);
    return items.length === 0 ? undefined : items;
  }

  /** The single element child (for substitution groups), or undefined. */
  elementChildren(): ElementReader[] {
    return this.element.children.map((child) => new ElementReader(child, `${this.path}/${child.local}`));
  }
}

/** xs:string content as written. */
export const asString = (raw: string): string => raw;

/** emix:MarketContextType (xs:anyURI): whitespace collapsed. */
export const asUri = (raw: string): string => raw.trim();

/** Adapter: an Enumeration as a converter. */
export function asEnum<T extends string>(e: Enumeration<T>): (raw: string) => T {
  return e.check;
}

/** Assign only defined values (keeps parsed objects free of `undefined` properties). */
export function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
