import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.js';

describe('optional VPC placement', () => {
  it('places every function in the given subnets and security groups, without a lookup', () => {
    // Bundling is not what this checks: skip it (the other synth tests bundle for real).
    const context = {
      'aws:cdk:bundling-stacks': [],
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
      securityGroupIds: 'sg-0123456789abcdef0',
    };
    const outdir = mkdtempSync(join(tmpdir(), 'pipes-vpc-'));
    const { app, stack } = buildApp(new App({ context, outdir }));
    let template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    try {
      template = app.synth().getStackByName(stack.stackName).template;
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(2);
    for (const fn of functions) {
      expect(fn.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      });
    }
  });
});
