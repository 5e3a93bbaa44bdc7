/**
 * Who may name a secret in a pipe (the confused-deputy rule, docs/security.md): the secret's
 * owner lists them in a tag, and the API checks its caller against that list.
 */
export type SecretOwnerTag =
  /** The principals the owner tag lists. */
  | { owners: readonly string[] }
  /** Why no list could be read: no tag, no such secret, or not readable by the deployment. */
  | { problem: string };

export interface SecretOwners {
  /** Throws only what a retry may fix (throttling, a service error). */
  ownersOf(secretArn: string): Promise<SecretOwnerTag>;
}
