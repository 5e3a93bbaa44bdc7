/**
 * Exact number and time text for typed columns (docs/table-schema.md, "Conversions"): decimals
 * kept as digits and an exponent so a Decimal column gets the value exactly or not at all, and
 * the date-time text a string must have to become a Date or DateTime64.
 */

import { civilDate } from './civil-date.js';

/** `coefficient · 10^exponent`, negative when `negative`. */
export interface ExactDecimal {
  negative: boolean;
  coefficient: bigint;
  exponent: number;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,6}))?$/;

/** A decimal number written in plain or exponent notation; null for anything else (NaN, Infinity, text). */
export function parseDecimalText(text: string): ExactDecimal | null {
  const match = DECIMAL_TEXT.exec(text);
  if (match === null) return null;
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  if (whole === '' && fraction === '') return null;
  return {
    negative: match[1] === '-',
    coefficient: BigInt(whole + fraction),
    exponent: Number(match[4] ?? 0) - fraction.length,
  };
}

/** Whole numbers as text: an optional sign and digits. */
const INTEGER_TEXT = /^[+-]?\d{1,40}$/;

export function parseIntegerText(text: string): bigint | null {
  return INTEGER_TEXT.test(text) ? BigInt(text) : null;
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** The value as an integer when it is one (no fractional part), else null. */
export function integralValue(value: ExactDecimal): bigint | null {
  if (value.coefficient === 0n) return 0n;
  let { coefficient, exponent } = value;
  if (exponent > 400) return null;
  while (exponent < 0 && coefficient % 10n === 0n) {
    coefficient /= 10n;
    exponent += 1;
  }
  if (exponent < 0) return null;
  const magnitude = coefficient * pow10(exponent);
  return value.negative ? -magnitude : magnitude;
}

/**
 * The value as Decimal(P,S) text (`-12.30` for S = 2), or null when it needs rounding (more than
 * S decimals that are not zeros) or has more than P − S integer digits.
 */
export function decimalColumnText(value: ExactDecimal, precision: number, scale: number): string | null {
  let { coefficient, exponent } = value;
  if (coefficient === 0n) exponent = 0;
  while (exponent < -scale && coefficient % 10n === 0n) {
    coefficient /= 10n;
    exponent += 1;
  }
  if (exponent < -scale || exponent + scale > precision) return null;
  const scaled = coefficient * pow10(exponent + scale);
  if (scaled >= pow10(precision)) return null;
  const digits = scaled.toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const text = scale === 0 ? whole : `${whole}.${digits.slice(digits.length - scale)}`;
  return value.negative && scaled !== 0n ? `-${text}` : text;
}

export const INT_RANGES = {
  Int32: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
  UInt64: [0n, 2n ** 64n - 1n],
} as const;

const DATE_TIME_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Milliseconds since the epoch of `YYYY-MM-DD`, or `YYYY-MM-DD[T| ]hh:mm:ss[.fff][Z|±hh:mm]`
 * (UTC when no zone is given); null for any other text or an impossible date or time.
 */
export function parseDateTimeText(text: string): number | null {
  const match = DATE_TIME_TEXT.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((match[7] ?? '').padEnd(3, '0'));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(utc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return null;
  }
  return utc - zoneOffsetMs(match[8]);
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  return sign * (hours * 60 + minutes) * 60_000;
}

/** DateTime64(3)'s range in ClickHouse: 1900-01-01 00:00:00.000 to 2299-12-31 23:59:59.999 UTC. */
export const DATETIME64_MIN_MS = Date.UTC(1900, 0, 1);
export const DATETIME64_MAX_MS = Date.UTC(2300, 0, 1) - 1;
/** Date's range: day 0 (1970-01-01) to day 65535 (2149-06-06). */
export const DATE_MAX_DAY = 65_535;
export const MS_PER_DAY = 86_400_000;

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** `YYYY-MM-DD` of a day number since 1970-01-01, years 1000–9999. */
export function dateText(day: number): string {
  const date = civilDate(day);
  return `${Math.floor(date / 10000)}-${pad2(Math.floor(date / 100) % 100)}-${pad2(date % 100)}`;
}
