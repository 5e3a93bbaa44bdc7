import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../infra/app.js';
import { MongoClickHousePipes, type MongoClickHousePipesProps } from '../../infra/index.js';

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: unknown;
  DeletionPolicy?: string;
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

export interface Synthesized {
  stack: Stack;
  assembly: CloudAssembly;
  template: Template;
  outdir: string;
  cleanup(): void;
}

export interface SynthesizedConstruct extends Synthesized {
  pipes: MongoClickHousePipes;
}

/** The construct's id in the test stack: not `Default`, so every logical ID carries it as a prefix. */
export const CONSTRUCT_ID = 'Pipes';
export const TEST_STACK_NAME = 'PipesTest';

/** A logical ID's start for a construct inside MongoClickHousePipes (e.g. `Monitoring` → `PipesMonitoring`). */
export const inConstruct = (name: string) => `${CONSTRUCT_ID}${name}`;

/** Skipping esbuild: for tests about the template, not the bundles (the synth tests bundle for real). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * A fresh output folder. Bundles go inside the repository (cdk.out/ is ignored) so they resolve
 * the runtime-provided @aws-sdk/* from node_modules when a test loads them.
 */
function outdirFor(bundle: boolean): string {
  if (!bundle) return mkdtempSync(join(tmpdir(), 'pipes-synth-'));
  mkdirSync('cdk.out', { recursive: true });
  return resolve(mkdtempSync(join('cdk.out', 'test-')));
}

function synthesized(app: App, stack: Stack, outdir: string): Synthesized {
  let assembly: CloudAssembly;
  try {
    assembly = app.synth();
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  return {
    stack,
    assembly,
    template: assembly.getStackByName(stack.stackName).template as Template,
    outdir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/**
 * Synthesizes the real app (real esbuild bundles unless `bundle` is false, cdk-nag as a
 * validation plugin) into a fresh folder. app.synth() throws when cdk-nag reports a finding
 * nobody acknowledged.
 */
export function synthesizeApp(context: Record<string, unknown> = {}, bundle = true): Synthesized {
  const outdir = outdirFor(bundle);
  const { app, stack } = buildApp(
    new App({ outdir, context: bundle ? context : { ...context, ...NO_BUNDLING } }),
  );
  return synthesized(app, stack, outdir);
}

export interface ConstructSynthOptions {
  /** Run esbuild for every function (slow); default false. */
  bundle?: boolean;
  /** The construct's id; default CONSTRUCT_ID. */
  id?: string;
  /** Adds to the test stack before the construct (a VPC to place it in, a resource beside it). */
  setUp?: (stack: Stack) => void;
  /** Uses the construct before the synth (grants to a role of the app, …). */
  use?: (pipes: MongoClickHousePipes, stack: Stack) => void;
}

/**
 * The construct as a user's app holds it: inside a bare stack of a bare app with cdk-nag
 * (AwsSolutions) as a validation plugin, so a finding its own acknowledgments miss fails here.
 */
export function synthesizeConstruct(
  props: MongoClickHousePipesProps | ((stack: Stack) => MongoClickHousePipesProps) = {},
  options: ConstructSynthOptions = {},
): SynthesizedConstruct {
  const bundle = options.bundle ?? false;
  const outdir = outdirFor(bundle);
  const app = new App({ outdir, context: bundle ? {} : NO_BUNDLING });
  const stack = new Stack(app, TEST_STACK_NAME);
  options.setUp?.(stack);
  const pipes = new MongoClickHousePipes(
    stack,
    options.id ?? CONSTRUCT_ID,
    typeof props === 'function' ? props(stack) : props,
  );
  options.use?.(pipes, stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { ...synthesized(app, stack, outdir), pipes };
}

export function resourcesOf(template: Template, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}
