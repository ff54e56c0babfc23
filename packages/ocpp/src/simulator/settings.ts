/**
 * The station's configuration: 1.6 configuration keys (GetConfiguration / ChangeConfiguration)
 * or the 2.0.1 device model as "Component.Variable" keys (GetVariables / SetVariables), each with
 * its mutability, a value check and what changing it does.
 */

export type Mutability = 'ReadOnly' | 'ReadWrite' | 'WriteOnly';

export interface SettingDefinition {
  /** The current value, or a getter for values the station computes (counts, read-only facts). */
  value: string | (() => string);
  mutability: Mutability;
  accepts?: (value: string) => boolean;
  apply?: (value: string) => void;
}

export type ReadOutcome =
  | { status: 'Accepted'; value: string; readonly: boolean }
  | { status: 'Unknown' }
  | { status: 'WriteOnly' };

export type WriteOutcome = 'Accepted' | 'Rejected' | 'Unknown';

export const isWholeNumber = (value: string): boolean => /^\d{1,9}$/.test(value);
export const isBoolean = (value: string): boolean => value === 'true' || value === 'false';

export class Settings {
  private readonly definitions: Map<string, SettingDefinition>;

  constructor(definitions: Record<string, SettingDefinition>) {
    this.definitions = new Map(Object.entries(definitions));
  }

  has(key: string): boolean {
    return this.definitions.has(key);
  }

  /** Every key, write-only ones included (for "is this component known" questions). */
  keys(): string[] {
    return [...this.definitions.keys()];
  }

  /** The readable keys (write-only ones, e.g. passwords, are never listed). */
  readableKeys(): string[] {
    return [...this.definitions].filter(([, d]) => d.mutability !== 'WriteOnly').map(([key]) => key);
  }

  read(key: string): ReadOutcome {
    const definition = this.definitions.get(key);
    if (!definition) return { status: 'Unknown' };
    if (definition.mutability === 'WriteOnly') return { status: 'WriteOnly' };
    const value = typeof definition.value === 'function' ? definition.value() : definition.value;
    return { status: 'Accepted', value, readonly: definition.mutability === 'ReadOnly' };
  }

  /** The value as the station uses it (write-only ones too); undefined for an unknown key. */
  value(key: string): string | undefined {
    const definition = this.definitions.get(key);
    if (!definition) return undefined;
    return typeof definition.value === 'function' ? definition.value() : definition.value;
  }

  write(key: string, value: string): WriteOutcome {
    const definition = this.definitions.get(key);
    if (!definition) return 'Unknown';
    if (definition.mutability === 'ReadOnly' || typeof definition.value === 'function') return 'Rejected';
    if (definition.accepts && !definition.accepts(value)) return 'Rejected';
    definition.value = value;
    definition.apply?.(value);
    return 'Accepted';
  }
}
