import type { ApiDeps } from '../../functions/api/deps.js';
import type { LifecycleStarter } from '../../functions/ports/lifecycle.js';
import type { PipeStore } from '../../functions/ports/pipe-store.js';

export interface LocalApiDepsOptions {
  store: PipeStore;
  /** Starts the local runs of the same ASL files. */
  starter: LifecycleStarter;
  /** The embedded ClickHouse, used when a create request names no destination. */
  defaultDestination: Record<string, unknown>;
  log?: (line: string) => void;
}

/** The API's dependencies for the local runtime: plain URIs allowed (nothing leaves the machine). */
export function localApiDeps(options: LocalApiDepsOptions): ApiDeps {
  const log = options.log ?? ((line: string) => console.error(line));
  return {
    store: options.store,
    starter: options.starter,
    config: { allowPlainSecrets: true, defaultDestination: options.defaultDestination },
    logger: { error: (message, detail) => log(`api: ${message} ${JSON.stringify(detail)}`) },
  };
}
