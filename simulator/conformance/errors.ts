/** Why a conformance test did not pass, split so reports say whose problem it is. */

/** The result or behaviour differs from what the test file expects. */
export class AssertionFailure extends Error {
  override name = 'AssertionFailure';
}

/** The test file asks for something this runner does not implement; always a failure, never a skip. */
export class UnsupportedFeature extends Error {
  override name = 'UnsupportedFeature';
  constructor(what: string) {
    super(`unsupported ${what}`);
  }
}

/** The test file is malformed or refers to a missing or mistyped entity. */
export class TestFileError extends Error {
  override name = 'TestFileError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
