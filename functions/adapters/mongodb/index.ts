export { redactText, redactUri } from '../../core/redact.js';
export { NoResumePointError, StandaloneSourceError } from '../../core/source-errors.js';
export { changeStreamPipeline, watchScope } from './change-pipeline.js';
export { MongoChangeSource, type MongoChangeSourceOptions } from './change-source.js';
export { afterIdFilter, decodeCheckpoint, encodeCheckpoint, partitionFilter } from './id-values.js';
export { type PreflightOptions, type PreflightReport, preflight } from './preflight.js';
export { requiredPrivileges } from './privileges.js';
export { decodeStoredToken, encodeResumeToken, isTokenNotFound } from './resume-plan.js';
export {
  DESERIALIZE_OPTIONS,
  MongoSnapshotSource,
  type MongoSnapshotSourceOptions,
} from './snapshot-source.js';
export { classifyDeployment, type TopologySummary } from './topology.js';
