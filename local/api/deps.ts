import { MongoCollectionSampler } from '../../functions/adapters/mongodb/sample-source.js';
import type { ApiDeps } from '../../functions/api/deps.js';
import { preflightProbeWith } from '../../functions/handlers/preflight-probe.js';
import { resolveSourceUri } from '../../functions/handlers/secrets.js';
import type { LifecycleStarter } from '../../functions/ports/lifecycle.js';
import type { Log } from '../../functions/ports/log.js';
import type { PipeStore } from '../../functions/ports/pipe-store.js';

export interface LocalApiDepsOptions {
  store: PipeStore;
  /** Starts the local runs of the same ASL files. */
  starter: LifecycleStarter;
  /** The embedded ClickHouse, used when a create request names no destination. */
  defaultDestination: Record<string, unknown>;
  /** Where the API's log lines go (the terminal of `npm start`); stderr by default. */
  log?: (line: string) => void;
}

/** The Log port as lines of text: `api: <message> <detail as JSON>`. */
function lineLog(write: (line: string) => void): Log {
  const line = (message: string, detail?: Record<string, unknown>) =>
    write(`api: ${message} ${JSON.stringify(detail ?? {})}`);
  return { debug: line, info: line, warn: line, error: line };
}

/** The API's dependencies for the local runtime: plain URIs allowed (nothing leaves the machine). */
export function localApiDeps(options: LocalApiDepsOptions): ApiDeps {
  return {
    store: options.store,
    starter: options.starter,
    config: { allowPlainSecrets: true, defaultDestination: options.defaultDestination },
    log: lineLog(options.log ?? ((line: string) => console.error(line))),
    // Locally the request names its source and destination by URL (there are no secrets to read).
    preflight: preflightProbeWith(),
    // Locally a sample names its source by URI (there are no secrets to read).
    sampler: new MongoCollectionSampler({ resolveUri: (source) => resolveSourceUri(source, {}) }),
  };
}
