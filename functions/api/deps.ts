import type { Env } from 'hono';
import type { CreateRules } from '../engines/register-pipe.js';
import type { LifecycleStarter } from '../ports/lifecycle.js';
import type { Log } from '../ports/log.js';
import type { PipeStore } from '../ports/pipe-store.js';
import type { PreflightProbe } from '../ports/preflight.js';
import type { CollectionSampler } from '../ports/sampler.js';

/** What the deployment accepts in a create request (secret ARNs only in the cloud, a default destination). */
export type ApiConfig = CreateRules;

export interface ApiDeps {
  store: PipeStore;
  starter: LifecycleStarter;
  config: ApiConfig;
  /** Where failures the caller is not told about go (masked): Powertools' Logger in Lambda. */
  log: Log;
  /** Reaches sources and destinations for `POST /preflight`; absent: the route answers 501. */
  preflight?: PreflightProbe;
  /** Reads samples for `POST /sources/sample`; absent: the route answers 501. */
  sampler?: CollectionSampler;
}

/** Who sent the request: from API Gateway's IAM identity, or "local" for the local server. */
export interface RequestContext {
  actor: string;
}

/**
 * Reads the actor from what the front that received the request passes along (hono's `c.env`:
 * the API Gateway event in Lambda, the node:http objects locally).
 */
export type ActorOf<E extends Env = Env> = (env: E['Bindings']) => string;
