/**
 * IAM principals as the pipes' owner tags and API Gateway name them, reduced to what decides a
 * match: the account, the kind (role or user) and the name. A caller that assumed a role
 * (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) is that role, whatever its session;
 * a role named with its path (`arn:aws:iam::<account>:role/<path>/<role>`) is matched by name.
 */
export interface Principal {
  account: string;
  kind: 'role' | 'user';
  name: string;
}

const ASSUMED_ROLE = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:[^/]+\/)*([^/]+)$/;

export function principalOf(arn: string): Principal | null {
  const assumed = ASSUMED_ROLE.exec(arn.trim());
  if (assumed) return { account: assumed[1] as string, kind: 'role', name: assumed[2] as string };
  const iam = IAM_PRINCIPAL.exec(arn.trim());
  if (iam) return { account: iam[1] as string, kind: iam[2] as 'role' | 'user', name: iam[3] as string };
  return null;
}

/** The tag's value: principals separated by commas or spaces. */
export function parseOwnerList(tagValue: string): string[] {
  return tagValue
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/** True when `caller` is one of `owners` (unparsable entries never match). */
export function isOwner(caller: string, owners: readonly string[]): boolean {
  const who = principalOf(caller);
  if (!who) return false;
  return owners.some((owner) => {
    const listed = principalOf(owner);
    return (
      listed !== null &&
      listed.account === who.account &&
      listed.kind === who.kind &&
      listed.name === who.name
    );
  });
}
