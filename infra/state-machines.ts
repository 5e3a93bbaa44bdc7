import { Arn, ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type MachineFile, SNAPSHOT_MACHINE_PLACEHOLDER, taskNameOf } from './placeholders.js';

/** The rule Step Functions manages for `.sync` child executions (it must be allowed to edit it). */
const SYNC_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

/** The snapshot flow is the child every `.sync` start points at; it starts no machine itself. */
export const SNAPSHOT_MACHINE = 'snapshot';

/**
 * Fixed names, so a machine's ARN is known before it exists: MarkFailed and the CDC function start
 * the resync machine, and those machines invoke MarkFailed — a reference would be a cycle.
 */
export function machineNameOf(namePrefix: string, machine: string): string {
  return `${namePrefix}-${machine}`;
}

export function machineArnOf(stack: Stack, namePrefix: string, machine: string): string {
  return stack.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: machineNameOf(namePrefix, machine),
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export interface LifecycleMachinesProps {
  machines: MachineFile[];
  /** Task name (e.g. `MarkFailed`) → its function. */
  functions: Map<string, IFunction>;
  logRetention: RetentionDays;
  /** Machines are named `<namePrefix>-<file name>`. */
  namePrefix: string;
}

/** One STANDARD state machine per file in statemachines/, built from the very same file. */
export class LifecycleMachines extends Construct {
  readonly byName = new Map<string, StateMachine>();

  constructor(scope: Construct, id: string, props: LifecycleMachinesProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const ordered = [...props.machines].sort(
      (a, b) => Number(b.name === SNAPSHOT_MACHINE) - Number(a.name === SNAPSHOT_MACHINE),
    );
    for (const file of ordered) this.byName.set(file.name, this.build(file, props, logGroup));
  }

  get snapshot(): StateMachine {
    const machine = this.byName.get(SNAPSHOT_MACHINE);
    if (!machine) throw new Error(`statemachines/${SNAPSHOT_MACHINE}.asl.json is missing`);
    return machine;
  }

  private build(file: MachineFile, props: LifecycleMachinesProps, logGroup: LogGroup): StateMachine {
    const substitutions: Record<string, string> = {};
    const invoked: IFunction[] = [];
    let startsSnapshot = false;
    for (const placeholder of file.placeholders) {
      if (placeholder === SNAPSHOT_MACHINE_PLACEHOLDER) {
        substitutions[placeholder] = machineArnOf(Stack.of(this), props.namePrefix, SNAPSHOT_MACHINE);
        startsSnapshot = true;
        continue;
      }
      const task = taskNameOf(placeholder);
      const fn = task === null ? undefined : props.functions.get(task);
      if (!fn) throw new Error(`${file.path}: no function for \${${placeholder}}`);
      substitutions[placeholder] = fn.functionArn;
      invoked.push(fn);
    }
    const machine = new StateMachine(this, pascal(file.name), {
      stateMachineName: machineNameOf(props.namePrefix, file.name),
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(file.path),
      definitionSubstitutions: substitutions,
      tracingEnabled: true,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    for (const fn of invoked) fn.grantInvoke(machine);
    if (startsSnapshot) this.allowSyncChildStart(machine, props.namePrefix);
    return machine;
  }

  /** What `states:startExecution.sync:2` needs: start, describe, stop, and the managed events rule. */
  private allowSyncChildStart(parent: StateMachine, namePrefix: string): void {
    const stack = Stack.of(this);
    const childArn = machineArnOf(stack, namePrefix, SNAPSHOT_MACHINE);
    const childExecutions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${machineNameOf(namePrefix, SNAPSHOT_MACHINE)}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    parent.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:StartExecution'],
        resources: [childArn],
      }),
    );
    parent.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [childExecutions],
      }),
    );
    parent.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [Arn.format({ service: 'events', resource: 'rule', resourceName: SYNC_RULE }, stack)],
      }),
    );
  }
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
