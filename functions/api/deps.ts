import type { PipeState } from '../core/lifecycle.js';
import type { PipeSettings } from '../core/settings.js';
import type { LifecycleStarter } from '../ports/lifecycle.js';
import type { PipeRecord, PipeStore } from '../ports/pipe-store.js';

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

/**
 * Writes a pipe's settings (a settings change while Paused, or the table mappings an add-tables
 * command brings). The pipe store port has no settings update yet, so the API names the one
 * write it needs; it must be conditional on the state and version the caller read, so a
 * command racing the update makes one of them fail instead of mixing them.
 */
export interface PipeSettingsWriter {
  updateSettings(
    pipeId: string,
    settings: PipeSettings,
    expected: { state: PipeState; version: number },
  ): Promise<PipeRecord>;
}

/** Where a failure the caller is not told about goes (CloudWatch through console in Lambda). */
export interface ApiLogger {
  error(message: string, detail: Record<string, unknown>): void;
}

export interface ApiDeps {
  store: PipeStore;
  starter: LifecycleStarter;
  settingsWriter: PipeSettingsWriter;
  config: ApiConfig;
  logger: ApiLogger;
}

/** Who sent the request: from API Gateway's IAM identity, or "local" for the local server. */
export interface RequestContext {
  actor: string;
}
