import { describe, expect, it } from 'vitest';
import { isOwner, parseOwnerList, principalOf } from '../../functions/core/principals.js';

const ACCOUNT = '123456789012';

describe('secret owner tags: who counts as an owner', () => {
  it('reads roles, users and assumed-role sessions; anything else is no principal', () => {
    expect(principalOf(`arn:aws:sts::${ACCOUNT}:assumed-role/team-a/alice-session`)).toEqual({
      account: ACCOUNT,
      kind: 'role',
      name: 'team-a',
    });
    expect(principalOf(`arn:aws:iam::${ACCOUNT}:role/service/team-a`)).toEqual({
      account: ACCOUNT,
      kind: 'role',
      name: 'team-a',
    });
    expect(principalOf(`arn:aws:iam::${ACCOUNT}:user/bob`)).toEqual({
      account: ACCOUNT,
      kind: 'user',
      name: 'bob',
    });
    expect(principalOf(`arn:aws-us-gov:iam::${ACCOUNT}:user/bob`)?.name).toBe('bob');
    for (const notOne of [
      '*',
      'team-a',
      `arn:aws:iam::${ACCOUNT}:group/admins`,
      `arn:aws:iam::${ACCOUNT}:root`,
      '',
    ]) {
      expect(principalOf(notOne)).toBeNull();
    }
  });

  it('splits the tag on commas and spaces', () => {
    expect(parseOwnerList(` arn:a ,arn:b  arn:c,,\n`)).toEqual(['arn:a', 'arn:b', 'arn:c']);
  });

  const owners = [`arn:aws:iam::${ACCOUNT}:role/team-a`, `arn:aws:iam::${ACCOUNT}:user/bob`, '*'];
  it.each([
    [`arn:aws:sts::${ACCOUNT}:assumed-role/team-a/any-session`, true],
    [`arn:aws:iam::${ACCOUNT}:role/team-a`, true],
    [`arn:aws:iam::${ACCOUNT}:user/bob`, true],
    // Same name, other kind or other account: never the owner.
    [`arn:aws:iam::${ACCOUNT}:user/team-a`, false],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/bob/s`, false],
    ['arn:aws:sts::999999999999:assumed-role/team-a/s', false],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/team-b/s`, false],
    // A wildcard in the tag grants nobody, and a caller without an ARN is nobody.
    ['*', false],
    ['', false],
  ])('%s owns a secret tagged with a role, a user and "*": %s', (caller, expected) => {
    expect(isOwner(caller, owners)).toBe(expected);
  });
});
