/**
 * Read-only views, kept as the server keeps them: one document per view in `<db>.system.views`
 * (`{_id: '<db>.<view>', viewOn, pipeline}`), so creating, changing and dropping a view are
 * ordinary insert/update/delete oplog entries on that collection. A view resolves to the
 * collection at the end of its `viewOn` chain and the concatenated pipelines.
 */
import type { Document } from 'bson';
import { CommandError } from '../contract.js';
import type { Catalog } from './catalog.js';
import { isPlainObject } from './typed-values.js';

export const SYSTEM_VIEWS = 'system.views';
/** The server's limit on views defined on views. */
const MAX_VIEW_DEPTH = 20;

export interface ViewDefinition {
  name: string;
  viewOn: string;
  pipeline: Document[];
}

export interface ResolvedView {
  /** The collection the view chain ends at (it may not exist). */
  collection: string;
  /** The pipelines of the chain, innermost view first. */
  pipeline: Document[];
}

function definitionOf(db: string, doc: Document | undefined): ViewDefinition | undefined {
  if (!doc || typeof doc._id !== 'string' || !doc._id.startsWith(`${db}.`)) return undefined;
  if (typeof doc.viewOn !== 'string' || !Array.isArray(doc.pipeline)) return undefined;
  return { name: doc._id.slice(db.length + 1), viewOn: doc.viewOn, pipeline: doc.pipeline as Document[] };
}

export function viewDefinition(catalog: Catalog, db: string, name: string): ViewDefinition | undefined {
  return definitionOf(db, catalog.get(db, SYSTEM_VIEWS)?.getById(`${db}.${name}`));
}

export function viewsOf(catalog: Catalog, db: string): ViewDefinition[] {
  const systemViews = catalog.get(db, SYSTEM_VIEWS);
  if (!systemViews) return [];
  const views: ViewDefinition[] = [];
  for (const entry of systemViews.scanNatural()) {
    const view = definitionOf(db, entry.doc);
    if (view) views.push(view);
  }
  return views;
}

function depthExceeded(): CommandError {
  return new CommandError(
    149,
    'ViewDepthLimitExceeded',
    `View depth too deep or view cycle detected. Maximum depth is ${MAX_VIEW_DEPTH}`,
  );
}

/** Follows a view's `viewOn` chain to its collection; undefined when `name` is not a view. */
export function resolveView(catalog: Catalog, db: string, name: string): ResolvedView | undefined {
  let view = viewDefinition(catalog, db, name);
  if (!view) return undefined;
  const pipelines: Document[][] = [];
  for (;;) {
    if (pipelines.length === MAX_VIEW_DEPTH) throw depthExceeded();
    pipelines.unshift(view.pipeline);
    const next = viewDefinition(catalog, db, view.viewOn);
    if (!next) return { collection: view.viewOn, pipeline: pipelines.flat() };
    view = next;
  }
}

export function viewError(db: string, name: string): CommandError {
  return new CommandError(
    166,
    'CommandNotSupportedOnView',
    `Namespace ${db}.${name} is a view, not a collection`,
  );
}

/** Throws 166 CommandNotSupportedOnView when `name` is a view (writes, indexes, stats). */
export function assertNotView(catalog: Catalog, db: string, name: string): void {
  if (viewDefinition(catalog, db, name)) throw viewError(db, name);
}

/** Stages a view pipeline cannot hold: 157 OptionNotSupportedOnView. */
export function validateViewPipeline(db: string, name: string, pipeline: unknown[]): Document[] {
  return pipeline.map((stage, index) => {
    if (!isPlainObject(stage) || Object.keys(stage).length !== 1) {
      throw new CommandError(
        40323,
        'Location40323',
        'A pipeline stage specification object must contain exactly one field.',
      );
    }
    const stageName = Object.keys(stage)[0] as string;
    if (stageName === '$out' || stageName === '$merge') {
      throw new CommandError(
        157,
        'OptionNotSupportedOnView',
        `The aggregation stage ${stageName} in location ${index} of the pipeline cannot be used in the view definition of ${db}.${name} because it writes to disk`,
      );
    }
    if (stageName === '$changeStream') {
      throw new CommandError(
        157,
        'OptionNotSupportedOnView',
        '$changeStream cannot be used in a view definition',
      );
    }
    return stage;
  });
}

/**
 * Checks that defining `name` as `definition` keeps the view graph acyclic and within the
 * depth limit: 93 GraphContainsCycle or 149 ViewDepthLimitExceeded.
 */
export function validateViewGraph(catalog: Catalog, db: string, definition: ViewDefinition): void {
  const lookup = (view: string) =>
    view === definition.name ? definition : viewDefinition(catalog, db, view);
  const path = [definition.name];
  for (let view = lookup(definition.viewOn); view; view = lookup(view.viewOn)) {
    path.push(view.name);
    if (view.name === definition.name) {
      throw new CommandError(
        93,
        'GraphContainsCycle',
        `View cycle detected: ${path.map((step) => `${db}.${step}`).join(' => ')}`,
      );
    }
    if (path.length > MAX_VIEW_DEPTH) throw depthExceeded();
  }
}
