import type { LifecycleStarter } from '../ports/lifecycle.js';
import type { PipeStore } from '../ports/pipe-store.js';

/** How this deployment of the API treats secrets and destinations. */
export interface ApiConfig {
  /**
   * Local runtime only: accept a plain MongoDB URI and a ClickHouse password in the request and
   * keep them in pipe state. In the cloud both must be Secrets Manager ARNs.
   */
  allowPlainSecrets: boolean;
  /** Used when a create request names no destination; null means the request must name one. */
  defaultDestination: Record<string, unknown> | null;
}

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
