import type { CreateRules } from '../engines/register-pipe.js';
import type { LifecycleStarter } from '../ports/lifecycle.js';
import type { PipeStore } from '../ports/pipe-store.js';

/** How this deployment of the API treats secrets and destinations. */
/** What the deployment accepts in a create request (secret ARNs only in the cloud, a default destination). */
export type ApiConfig = CreateRules;

/** Where a failure the caller is not told about goes (CloudWatch through console in Lambda). */
export interface ApiLogger {
  error(message: string, detail: Record<string, unknown>): void;
}

export interface ApiDeps {
  store: PipeStore;
  starter: LifecycleStarter;
  config: ApiConfig;
  logger: ApiLogger;
}

/** Who sent the request: from API Gateway's IAM identity, or "local" for the local server. */
export interface RequestContext {
  actor: string;
}
