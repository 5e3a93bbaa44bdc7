import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONNECTING_TASKS,
  READS_SECRET_OWNERS,
  READS_STORE_ONLY,
  STARTS_CDC,
} from '../../infra/function-roles.js';
import { CONSTRUCT_ID, inConstruct, resourcesOf, type Synthesized, synthesizeConstruct } from './synth.js';

let synth: Synthesized;

beforeAll(() => {
  synth = synthesizeConstruct();
}, 240_000);
afterAll(() => synth?.cleanup());

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

/**
 * Actions that support no resource-level permission. cdk-nag's IAM5 finding on their
 * `Resource: "*"` is acknowledged with this reason in infra/nag-suppressions.ts.
 */
const RESOURCELESS = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

function statements(): Array<[string, Statement]> {
  return resourcesOf(synth.template, 'AWS::IAM::Policy').flatMap(([id, resource]) =>
    ((resource.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? []).map(
      (statement) => [id, statement] as [string, Statement],
    ),
  );
}

const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

describe('IAM', () => {
  it('no statement grants Action "*" or a whole service', () => {
    for (const [id, statement] of statements()) {
      for (const action of list(statement.Action)) expect(action, id).not.toMatch(/(^\*$|:\*$)/);
    }
  });

  it('Resource "*" only for actions that have no resource-level permissions', () => {
    const starred = statements().filter(([, statement]) => JSON.stringify(statement.Resource) === '"*"');
    expect(starred.length).toBeGreaterThan(0);
    for (const [id, statement] of starred) {
      for (const action of list(statement.Action))
        expect(RESOURCELESS.has(action), `${id}: ${action}`).toBe(true);
    }
  });

  it('secrets are readable only under the documented name prefix', () => {
    const reads = statements().filter(([, statement]) =>
      list(statement.Action).includes('secretsmanager:GetSecretValue'),
    );
    expect(reads.length).toBeGreaterThan(0);
    for (const [id, statement] of reads) {
      expect(JSON.stringify(statement.Resource), id).toMatch(/:secret:mongo-clickhouse-pipes\/\*"\]\]\}$/);
    }
  });

  it('schedules are managed in the stack group only, passing only the scheduler role', () => {
    const manage = statements().filter(([, statement]) =>
      list(statement.Action).includes('scheduler:CreateSchedule'),
    );
    expect(manage.length).toBeGreaterThan(0);
    for (const [id, statement] of manage)
      expect(JSON.stringify(statement.Resource), id).toContain(`:schedule/${synth.stack.stackName}-cdc/*`);
    const pass = statements().filter(([, statement]) => list(statement.Action).includes('iam:PassRole'));
    expect(pass).toHaveLength(manage.length);
    for (const [id, statement] of pass)
      expect(JSON.stringify(statement.Resource), id).toMatch(
        new RegExp(`^\\{"Fn::GetAtt":\\["${inConstruct('CdcSchedulesInvokeRole')}[0-9A-F]+","Arn"\\]\\}$`),
      );
  });

  it('only the CDC function and the tasks that start CDC may invoke it (besides the scheduler)', () => {
    const cdcFunction = `:function:${synth.stack.stackName}-cdc-batch`;
    const invokes = statements().filter(
      ([, statement]) =>
        list(statement.Action).includes('lambda:InvokeFunction') &&
        JSON.stringify(statement.Resource).includes(cdcFunction),
    );
    const grantees = new Set(invokes.map(([id]) => id.replace(/(ServiceRole)?DefaultPolicy.*$/, '')));
    const expected = ['CdcBatchFunction', ...[...STARTS_CDC].map((task) => `${task}Function`)].map(
      inConstruct,
    );
    // The scheduler's invoke role is the other grantee (checked in stack.test.ts).
    expect([...grantees].filter((id) => !id.startsWith(inConstruct('CdcSchedules'))).sort()).toEqual(
      expected.sort(),
    );
    for (const [id, statement] of invokes)
      expect(list(statement.Action), id).toEqual(['lambda:InvokeFunction']);
  });

  /** The function (Task name, CdcBatch or Api) each role policy belongs to, with its statements. */
  function byFunction(): Map<string, Statement[]> {
    const grouped = new Map<string, Statement[]>();
    for (const [id, statement] of statements()) {
      const name = new RegExp(`^${CONSTRUCT_ID}(\\w+?)Function(ServiceRole)?DefaultPolicy`).exec(id)?.[1];
      if (!name) continue;
      grouped.set(name, [...(grouped.get(name) ?? []), statement]);
    }
    return grouped;
  }
  const actionsOf = (list_: Statement[]) => new Set(list_.flatMap((statement) => list(statement.Action)));

  it('reads secret values only in the functions that connect to MongoDB or ClickHouse (the API for pre-flight and sampling)', () => {
    const functions = byFunction();
    const connecting = new Set([...CONNECTING_TASKS, 'CdcBatch', 'Api']);
    expect(functions.size).toBeGreaterThan(10);
    for (const [name, statements_] of functions)
      expect(actionsOf(statements_).has('secretsmanager:GetSecretValue'), name).toBe(connecting.has(name));
    for (const name of [
      'ApplyEvent',
      'CheckDrained',
      'DeletePipe',
      'FinishSnapshot',
      'MarkFailed',
      'SetSchedule',
      'PlanSnapshot',
    ])
      expect(connecting.has(name), name).toBe(false);
  });

  it('reads secret tags (never values) only where a create request is checked: the API and RegisterPipe', () => {
    for (const [name, statements_] of byFunction())
      expect(actionsOf(statements_).has('secretsmanager:DescribeSecret'), name).toBe(
        READS_SECRET_OWNERS.has(name),
      );
  });

  it('grants the pipe store only the calls the store makes: no streams, scans or transactions; CheckDrained reads', () => {
    const storeActions = (statements_: Statement[]) =>
      new Set([...actionsOf(statements_)].filter((action) => action.startsWith('dynamodb:')));
    for (const [name, statements_] of byFunction()) {
      const actions = storeActions(statements_);
      for (const action of actions)
        expect(
          [
            'dynamodb:GetItem',
            'dynamodb:Query',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:DeleteItem',
            'dynamodb:BatchWriteItem',
          ],
          `${name}: ${action}`,
        ).toContain(action);
      if (READS_STORE_ONLY.has(name))
        expect([...actions].sort(), name).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
      else expect(actions.has('dynamodb:UpdateItem'), name).toBe(true);
    }
  });

  it('the api function may start every operation machine', () => {
    const apiPolicy = resourcesOf(synth.template, 'AWS::IAM::Policy').find(([id]) =>
      id.startsWith(inConstruct('ApiFunction')),
    );
    const text = JSON.stringify(apiPolicy?.[1].Properties);
    for (const operation of ['Create', 'Pause', 'Resume', 'Resync', 'AddTables', 'RemoveTables', 'Delete'])
      expect(text).toContain(`"${inConstruct('Machines')}${operation}`);
    expect(text).not.toContain(inConstruct('MachinesSnapshot'));
  });
});
