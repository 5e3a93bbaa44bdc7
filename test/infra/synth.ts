import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { buildApp } from '../../infra/app.js';
import type { PipesStack } from '../../infra/pipes-stack.js';

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: unknown;
}

export interface Synthesized {
  stack: PipesStack;
  assembly: CloudAssembly;
  template: { Resources: Record<string, Resource> };
  outdir: string;
  cleanup(): void;
}

/**
 * Synthesizes the real app (real esbuild bundles, cdk-nag as a validation plugin) into a fresh
 * folder. app.synth() throws when cdk-nag reports a finding nobody acknowledged.
 */
export function synthesizeApp(context: Record<string, unknown> = {}): Synthesized {
  // Inside the repository (cdk.out/ is ignored) so the bundles resolve the runtime-provided
  // @aws-sdk/* from node_modules when a test loads them.
  mkdirSync('cdk.out', { recursive: true });
  const outdir = resolve(mkdtempSync(join('cdk.out', 'test-')));
  const { app, stack } = buildApp(new App({ outdir, context }));
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as Synthesized['template'];
  return {
    stack,
    assembly,
    template,
    outdir,
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

export function resourcesOf(template: Synthesized['template'], type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}
