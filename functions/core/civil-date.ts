/**
 * The proleptic Gregorian date of a day number since 1970-01-01 (H. Hinnant's civil_from_days),
 * as one integer `year·10000 + month·100 + day`, so the transcoder's hot path allocates nothing.
 */
export function civilDate(days: number): number {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return year * 10000 + month * 100 + (doy - Math.floor((153 * mp + 2) / 5) + 1);
}
