import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseOwnerList } from '../../core/principals.js';
import type { SecretOwners, SecretOwnerTag } from '../../ports/secrets.js';

/** The tag a secret's owner lists the principals in who may name it in a pipe. */
export const SECRET_OWNERS_TAG = 'mongo-clickhouse-pipes:owners';

/** Answers that mean "this deployment cannot use that secret", not "try again". */
const NOT_USABLE = new Set(['ResourceNotFoundException', 'AccessDeniedException', 'ValidationException']);

/** SecretOwners on Secrets Manager: the secret's tags, read with DescribeSecret (never its value). */
export class SecretsManagerOwners implements SecretOwners {
  constructor(private readonly client: SecretsManagerClient) {}

  async ownersOf(secretArn: string): Promise<SecretOwnerTag> {
    try {
      const described = await this.client.send(new DescribeSecretCommand({ SecretId: secretArn }));
      const tag = described.Tags?.find((entry) => entry.Key === SECRET_OWNERS_TAG);
      if (!tag?.Value)
        return { problem: `has no ${SECRET_OWNERS_TAG} tag: its owner must list who may name it` };
      return { owners: parseOwnerList(tag.Value) };
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (NOT_USABLE.has(name))
        return {
          problem: `cannot be read by this deployment (${name}): it must exist under the deployment's secret prefix`,
        };
      throw error;
    }
  }
}
