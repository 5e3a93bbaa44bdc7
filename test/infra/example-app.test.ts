import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourcesOf, type Template } from './synth.js';

const EXAMPLE = resolve('infra/examples/own-app.ts');
const TSX = resolve('node_modules/.bin/tsx');

let outdir: string;
let template: Template;

/**
 * The example app of docs/deploy.md run as a user runs it (its own process, through tsx), from a
 * directory outside the repository: the construct must find its files from its own place.
 */
beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'pipes-example-'));
  execFileSync(TSX, [EXAMPLE], {
    cwd: outdir,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      // The bundles are stack.test.ts's subject: here the template and cdk-nag are.
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
    },
  });
  template = JSON.parse(readFileSync(join(outdir, 'DataPlatform.template.json'), 'utf8')) as Template;
}, 180_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the example app in docs/deploy.md', () => {
  it('is shown in docs/deploy.md exactly as the file is', () => {
    const docs = readFileSync('docs/deploy.md', 'utf8');
    expect(docs).toContain(`\`\`\`ts\n${readFileSync(EXAMPLE, 'utf8')}\`\`\``);
  });

  it('synthesizes from another working directory, cdk-nag on, with the pipes in its stack', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    const [group, ...others] = resourcesOf(template, 'AWS::EC2::SecurityGroup');
    expect(others).toEqual([]);
    for (const [id, fn] of functions)
      expect(fn.Properties?.VpcConfig, id).toEqual({
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [group?.[0], 'GroupId'] }],
      });
    const cdc = functions.find(([, fn]) => fn.Properties?.FunctionName === 'data-platform-pipes-cdc-batch');
    expect(cdc?.[1].Properties?.MemorySize).toBe(1024);
    expect(resourcesOf(template, 'AWS::SNS::Subscription')).toHaveLength(1);
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['ApiUrl', 'PipesAlarmTopic', 'PipesCreateMachine']),
    );
  });
});
