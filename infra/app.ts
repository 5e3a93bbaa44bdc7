import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.js';
import { PipesStack } from './pipes-stack.js';

/**
 * Builds the app. Environment-agnostic unless CDK_DEFAULT_ACCOUNT/REGION are set (cdk deploy
 * sets them): synth needs no credentials and makes no lookups.
 */
export function buildApp(app = new App()): { app: App; stack: PipesStack } {
  const stackName = String(app.node.tryGetContext('stackName') ?? 'MongoClickHousePipes');
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  const stack = new PipesStack(app, stackName, {
    config: readConfig(app.node),
    description: 'Serverless MongoDB to ClickHouse replication pipes',
    ...(account && region ? { env: { account, region } } : {}),
  });
  // cdk-nag 3 is a policy validation plugin: unacknowledged findings fail the synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

// Run as the CDK app (cdk.json: `npx tsx infra/app.ts`), not when a test imports buildApp.
if (process.argv[1]?.endsWith('infra/app.ts')) buildApp().app.synth();
