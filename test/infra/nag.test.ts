import { App, Stack, Validations } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';

/** The synth tests rely on cdk-nag failing the synth: check that it does, without bundling. */
function appWithTopic(acknowledge: boolean): App {
  const app = new App();
  const stack = new Stack(app, 'NagProbe');
  new Topic(stack, 'Plain');
  if (acknowledge) {
    for (const id of ['AwsSolutions-SNS2', 'AwsSolutions-SNS3'])
      Validations.of(stack).acknowledge({ id, reason: 'probe of the acknowledgment path' });
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe('cdk-nag as the synth gate', () => {
  it('fails the synth on an unacknowledged finding', () => {
    expect(() => appWithTopic(false).synth()).toThrow(/AwsSolutions-SNS3/);
  });

  it('passes once each finding is acknowledged with a reason', () => {
    expect(() => appWithTopic(true).synth()).not.toThrow();
  });
});
