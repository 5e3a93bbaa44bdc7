/**
 * Why a sample of a collection could not be read (`POST /sources/sample`). They are answered by
 * the API and never reach a state machine, so they are not part of the ERROR_NAMES contract.
 */

/** The sample took longer than its bound across several server replies. */
export class SampleTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the sample took longer than ${timeoutMs} ms: ask for fewer documents`);
    this.name = 'SampleTimeoutError';
  }
}
