/** One check of a pre-flight report (`POST /preflight`, docs/api.md). */
export interface PreflightCheck {
  /** What was checked, e.g. `source.topology`, `destination.rights`, `tables.ownership`. */
  id: string;
  /** `failed`: the pipe would fail (Provision or Setup refuses it); `warned`: it would run, but look. */
  status: 'passed' | 'warned' | 'failed';
  /** What was found, free of credentials. */
  message: string;
  /** What to do about it; null when there is nothing to do. */
  advice: string | null;
}

export type PreflightVerdict = PreflightCheck['status'];

export interface PreflightReport {
  /** The worst status among the checks. */
  verdict: PreflightVerdict;
  checks: PreflightCheck[];
}

export function verdictOf(checks: readonly PreflightCheck[]): PreflightVerdict {
  if (checks.some((check) => check.status === 'failed')) return 'failed';
  return checks.some((check) => check.status === 'warned') ? 'warned' : 'passed';
}

export const passed = (id: string, message: string): PreflightCheck => ({
  id,
  status: 'passed',
  message,
  advice: null,
});
