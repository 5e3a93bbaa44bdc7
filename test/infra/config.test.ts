import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/config.js';

const configOf = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

describe('deployment settings from context', () => {
  it('defaults: secret prefix, RETAIN, no VPC', () => {
    const config = configOf({});
    expect(config).toMatchObject({ secretPrefix: 'mongo-clickhouse-pipes', retainData: true });
    expect(config.vpc).toBeUndefined();
  });

  it('reads a VPC placement from comma lists or arrays', () => {
    const config = configOf({ vpcId: 'vpc-1', subnetIds: 'subnet-a, subnet-b', securityGroupIds: ['sg-1'] });
    expect(config.vpc).toEqual({
      vpcId: 'vpc-1',
      subnetIds: ['subnet-a', 'subnet-b'],
      securityGroupIds: ['sg-1'],
      availabilityZones: [],
    });
  });

  it('passes a default destination on as JSON, refusing one with a password', () => {
    const destination = { url: 'https://ch.example.com:8443', database: 'shop', secretArn: 'arn:x' };
    expect(configOf({ defaultDestination: JSON.stringify(destination) }).defaultDestination).toBe(
      JSON.stringify(destination),
    );
    expect(() => configOf({ defaultDestination: { ...destination, password: 'p' } })).toThrow(/password/);
  });

  it('reads the log level (INFO by default), refusing one Powertools and Lambda do not share', () => {
    expect(configOf({}).logLevel).toBe('INFO');
    expect(configOf({ logLevel: 'debug' }).logLevel).toBe('DEBUG');
    expect(configOf({ logLevel: 'WARN' }).logLevel).toBe('WARN');
    expect(() => configOf({ logLevel: 'TRACE' })).toThrow(/logLevel/);
  });

  it('rejects a VPC without subnets or security groups, a wildcard prefix and a bad threshold', () => {
    expect(() => configOf({ vpcId: 'vpc-1' })).toThrow(/subnetIds/);
    expect(() => configOf({ secretPrefix: 'pipes/*' })).toThrow(/secretPrefix/);
    expect(() => configOf({ lagAlarmMs: '-5' })).toThrow(/lagAlarmMs/);
  });

  it('reads the allowed hosts and the API throttling, refusing what is not a host', () => {
    const config = configOf({
      allowedSourceHosts: 'cluster0.abcde.mongodb.net, *.internal.example',
      allowedDestinationHosts: ['ch.example.com'],
      apiRateLimit: '50',
      apiBurstLimit: '100',
    });
    expect(config.allowedSourceHosts).toEqual(['cluster0.abcde.mongodb.net', '*.internal.example']);
    expect(config.allowedDestinationHosts).toEqual(['ch.example.com']);
    expect(config.apiThrottling).toEqual({ rateLimit: 50, burstLimit: 100 });
    expect(configOf({}).allowedSourceHosts).toEqual([]);
    expect(() => configOf({ allowedDestinationHosts: 'https://ch.example.com' })).toThrow(
      /allowedDestinationHosts/,
    );
  });

  it('sizes the CDC function from context (2048 MiB by default), within what Lambda allows', () => {
    expect(configOf({}).cdcMemoryMiB).toBe(2048);
    expect(configOf({ cdcMemoryMiB: '512' }).cdcMemoryMiB).toBe(512);
    for (const bad of ['64', '20000', '1024.5'])
      expect(() => configOf({ cdcMemoryMiB: bad })).toThrow(/cdcMemoryMiB/);
  });
});
