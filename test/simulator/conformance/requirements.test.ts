import { describe, expect, it } from 'vitest';
import { withUriOptions } from '../../../simulator/conformance/create-entities.js';
import { UnsupportedFeature } from '../../../simulator/conformance/errors.js';
import { schemaVersionSupported } from '../../../simulator/conformance/load.js';
import {
  compareVersions,
  evaluateRequirements,
  type ServerFacts,
} from '../../../simulator/conformance/requirements.js';

const replicaSet70: ServerFacts = {
  version: '7.0.14',
  topology: 'replicaset',
  serverless: false,
  auth: false,
  csfle: false,
  serverParameter: async (name) => (name === 'enableTestCommands' ? 1 : undefined),
};

const verdict = async (requirements: unknown) =>
  (await evaluateRequirements(requirements, replicaSet70)).applies;

describe('runOnRequirements for a MongoDB 7.0 replica set without auth', () => {
  it('compares versions component by component', () => {
    expect(compareVersions('7.0.14', '4.4.7')).toBeGreaterThan(0);
    expect(compareVersions('7.0', '7.0.0')).toBe(0);
    expect(compareVersions('4.2.99', '7.0.14')).toBeLessThan(0);
  });

  it('applies when no requirement is given', async () => {
    expect(await verdict(undefined)).toBe(true);
    expect(await verdict([])).toBe(true);
  });

  it('checks min and max server versions', async () => {
    expect(await verdict([{ minServerVersion: '4.4' }])).toBe(true);
    expect(await verdict([{ minServerVersion: '8.0' }])).toBe(false);
    expect(await verdict([{ maxServerVersion: '6.0.99' }])).toBe(false);
    expect(await verdict([{ minServerVersion: '3.6', maxServerVersion: '7.0.99' }])).toBe(true);
  });

  it('needs the replicaset topology', async () => {
    expect(await verdict([{ topologies: ['single', 'replicaset'] }])).toBe(true);
    expect(await verdict([{ topologies: ['sharded', 'load-balanced'] }])).toBe(false);
  });

  it('is met when any one requirement is met', async () => {
    const either = [{ minServerVersion: '8.0' }, { minServerVersion: '4.0', topologies: ['replicaset'] }];
    expect(await verdict(either)).toBe(true);
    const neither = [{ minServerVersion: '8.0' }, { topologies: ['sharded'] }];
    const result = await evaluateRequirements(neither, replicaSet70);
    expect(result.applies).toBe(false);
    expect(result.applies ? '' : result.reason).toContain('minServerVersion 8.0');
  });

  it('handles serverless, auth and csfle', async () => {
    expect(await verdict([{ serverless: 'forbid' }])).toBe(true);
    expect(await verdict([{ serverless: 'allow' }])).toBe(true);
    expect(await verdict([{ serverless: 'require' }])).toBe(false);
    expect(await verdict([{ auth: true }])).toBe(false);
    expect(await verdict([{ auth: false }])).toBe(true);
    expect(await verdict([{ csfle: true }])).toBe(false);
  });

  it('reads server parameters', async () => {
    expect(await verdict([{ serverParameters: { enableTestCommands: true } }])).toBe(false);
    expect(await verdict([{ serverParameters: { enableTestCommands: 1 } }])).toBe(true);
    expect(await verdict([{ serverParameters: { unknownParameter: 1 } }])).toBe(false);
  });

  it('refuses requirement keys it does not know', async () => {
    await expect(evaluateRequirements([{ futureKey: 1 }], replicaSet70)).rejects.toThrow(UnsupportedFeature);
  });
});

describe('schemaVersion', () => {
  it('accepts 1.x up to 1.28 only', () => {
    expect(schemaVersionSupported('1.0')).toBe(true);
    expect(schemaVersionSupported('1.28')).toBe(true);
    expect(schemaVersionSupported('1.29')).toBe(false);
    expect(schemaVersionSupported('2.0')).toBe(false);
  });
});

describe('client URI options', () => {
  it('appends options and replaces ones already in the connection string', () => {
    const base = 'mongodb://127.0.0.1:1,127.0.0.1:2/?replicaSet=rs0&appname=old';
    expect(withUriOptions(base, { appname: 'new', heartbeatFrequencyMS: 500 })).toBe(
      'mongodb://127.0.0.1:1,127.0.0.1:2/?replicaSet=rs0&appname=new&heartbeatFrequencyMS=500',
    );
    expect(withUriOptions('mongodb://127.0.0.1:1', { w: 'majority' })).toBe(
      'mongodb://127.0.0.1:1/?w=majority',
    );
  });
});
