const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const PLAIN_MS = /^[1-9]\d{0,11}$/;
const SHORT = /^(\d{1,9}(?:\.\d{1,3})?)(ms|s|m|h|d)$/;
// ISO 8601 durations limited to days and time parts (no years or months: their length varies).
const ISO = /^P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6}(?:\.\d{1,3})?)S)?)?$/;

/**
 * Parses a bucket width: an integer of milliseconds ("300000"), a number with a unit ("500ms",
 * "30s", "5m", "1h", "1d") or an ISO 8601 duration of days and time ("PT5M", "P1DT12H").
 * Returns whole milliseconds, or undefined when the text is none of these or is zero.
 */
export function parseDurationMs(text: string): number | undefined {
  let ms: number | undefined;
  if (PLAIN_MS.test(text)) ms = Number(text);
  const short = SHORT.exec(text);
  if (short) ms = Number(short[1]) * (UNIT_MS[short[2] ?? ''] ?? Number.NaN);
  const iso = text === 'P' || text.endsWith('T') ? null : ISO.exec(text);
  if (iso) {
    const [, d, h, m, s] = iso;
    ms = Number(d ?? 0) * 86_400_000 + Number(h ?? 0) * 3_600_000 + Number(m ?? 0) * 60_000 + Number(s ?? 0) * 1000;
  }
  if (ms === undefined || !Number.isFinite(ms)) return undefined;
  const whole = Math.round(ms);
  return whole >= 1 ? whole : undefined;
}
