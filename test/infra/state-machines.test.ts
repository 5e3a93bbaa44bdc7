import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMachineFiles, SNAPSHOT_MACHINE_PLACEHOLDER, taskNameOf } from '../../infra/placeholders.js';
import { inConstruct, resourcesOf, type Synthesized, synthesizeConstruct } from './synth.js';

let synth: Synthesized;
const files = readMachineFiles();

beforeAll(() => {
  synth = synthesizeConstruct();
}, 240_000);
afterAll(() => synth?.cleanup());

interface MachineProps {
  StateMachineName: string;
  StateMachineType: string;
  DefinitionS3Location: { Key: string };
  DefinitionSubstitutions: Record<string, unknown>;
  TracingConfiguration?: { Enabled: boolean };
  LoggingConfiguration?: { Level: string; Destinations: unknown[] };
}

function machine(name: string): MachineProps {
  const wanted = `${synth.stack.stackName}-${name}`;
  const found = resourcesOf(synth.template, 'AWS::StepFunctions::StateMachine').find(
    ([, resource]) => (resource.Properties as unknown as MachineProps).StateMachineName === wanted,
  );
  if (!found) throw new Error(`no state machine named ${wanted}`);
  return found[1].Properties as unknown as MachineProps;
}

/** Renders a CloudFormation value to text, intrinsic functions as readable markers. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return `<${String(node.Ref)}>`;
  if ('Fn::GetAtt' in node) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  throw new Error(`unexpected intrinsic ${JSON.stringify(value)}`);
}

/** Logical id of the Lambda function the stack built for a task (its description names it). */
function functionIdOf(task: string): string {
  const found = resourcesOf(synth.template, 'AWS::Lambda::Function').find(
    ([, resource]) => resource.Properties?.Description === `Step Functions task ${task}`,
  );
  if (!found) throw new Error(`no function for task ${task}`);
  return found[0];
}

describe('state machines from statemachines/*.asl.json', () => {
  it('builds one STANDARD machine per file, with X-Ray tracing and logging', () => {
    expect(resourcesOf(synth.template, 'AWS::StepFunctions::StateMachine')).toHaveLength(files.length);
    for (const file of files) {
      const props = machine(file.name);
      expect(props.StateMachineType).toBe('STANDARD');
      expect(props.TracingConfiguration?.Enabled).toBe(true);
      expect(props.LoggingConfiguration?.Level).toBe('ALL');
      expect(props.LoggingConfiguration?.Destinations).toHaveLength(1);
    }
  });

  it.each(files.map((file) => [file.name, file] as const))(
    '%s: the deployed definition is the file, every placeholder substituted',
    (_name, file) => {
      const props = machine(file.name);
      const asset = readFileSync(
        join(synth.assembly.directory, `asset.${props.DefinitionS3Location.Key}`),
        'utf8',
      );
      expect(asset).toBe(readFileSync(file.path, 'utf8'));
      expect(Object.keys(props.DefinitionSubstitutions).sort()).toEqual(file.placeholders);

      const expected: Record<string, string> = {};
      for (const placeholder of file.placeholders) {
        const task = taskNameOf(placeholder);
        expected[placeholder] =
          placeholder === SNAPSHOT_MACHINE_PLACEHOLDER
            ? `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${synth.stack.stackName}-snapshot`
            : `<${functionIdOf(task ?? placeholder)}.Arn>`;
        expect(render(props.DefinitionSubstitutions[placeholder])).toBe(expected[placeholder]);
      }
      // What Step Functions runs: the file with the substitutions applied; it stays valid JSON
      // and keeps every state of the file.
      const rendered = asset.replace(/\$\{([A-Za-z0-9]+)\}/g, (_match, name: string) => expected[name] ?? '');
      expect(rendered).not.toMatch(/\$\{[A-Za-z0-9]+\}/);
      const definition = JSON.parse(rendered) as { States: Record<string, unknown> };
      expect(Object.keys(definition.States)).toEqual(Object.keys(JSON.parse(file.text).States));
    },
  );

  it('the snapshot machine exists under the name the parents substitute', () => {
    expect(machine('snapshot').StateMachineName).toBe(`${synth.stack.stackName}-snapshot`);
  });

  it('a parent that starts the snapshot child may start, describe and stop it and edit the .sync rule', () => {
    const parents = files.filter((file) => file.placeholders.includes(SNAPSHOT_MACHINE_PLACEHOLDER));
    expect(parents.length).toBeGreaterThan(0);
    const policies = resourcesOf(synth.template, 'AWS::IAM::Policy').map(([, resource]) =>
      JSON.stringify(resource.Properties),
    );
    const withSync = policies.filter((text) =>
      text.includes('StepFunctionsGetEventsForStepFunctionsExecutionRule'),
    );
    expect(withSync).toHaveLength(parents.length);
    for (const text of withSync) {
      for (const action of [
        'states:StartExecution',
        'states:DescribeExecution',
        'states:StopExecution',
        'events:PutTargets',
        'events:PutRule',
        'events:DescribeRule',
      ])
        expect(text).toContain(action);
    }
  });

  it('each machine may invoke exactly the functions its file names', () => {
    for (const file of files) {
      const tasks = file.placeholders.map(taskNameOf).filter((task): task is string => task !== null);
      const roleId = resourcesOf(synth.template, 'AWS::IAM::Role').find(([id]) =>
        id.startsWith(inConstruct(`Machines${file.name.charAt(0).toUpperCase()}${file.name.slice(1)}Role`)),
      )?.[0];
      expect(roleId, file.name).toBeDefined();
      const policy = resourcesOf(synth.template, 'AWS::IAM::Policy').find(([, resource]) =>
        JSON.stringify(resource.Properties?.Roles).includes(`"${roleId}"`),
      );
      const text = JSON.stringify(policy?.[1].Properties);
      const invoked = [...text.matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/g)].map((match) => match[1]);
      expect(new Set(invoked)).toEqual(new Set(tasks.map(functionIdOf)));
    }
  });
});
