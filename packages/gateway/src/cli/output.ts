/** Plain-text helpers for CLI output. */
import { InvalidArgumentError } from 'commander';

/** Left-aligned columns separated by two spaces; the header is upper-cased. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}

/** A database URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Writes `text` as whole lines (a final newline added when missing). */
export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** A commander option parser for a finite number in [min, max] (or (min, max] with minOpen). */
export function numberIn(name: string, min: number, max: number, options: { minOpen?: boolean } = {}) {
  const range = `${options.minOpen ? '>' : '>='} ${min}${Number.isFinite(max) ? ` and <= ${max}` : ''}`;
  return (value: string): number => {
    const number = Number(value);
    const tooLow = options.minOpen ? number <= min : number < min;
    if (value.trim() === '' || !Number.isFinite(number) || tooLow || number > max)
      throw new InvalidArgumentError(`${name} must be a number ${range}`);
    return number;
  };
}

/** Six decimals, and no negative zero (the CLIs' JSON numbers). */
export function round6(value: number): number {
  const rounded = Math.round(value * 1e6) / 1e6;
  return rounded === 0 ? 0 : rounded;
}
