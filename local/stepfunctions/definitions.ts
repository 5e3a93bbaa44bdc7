import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';

export const STATE_MACHINES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'statemachines');

export const SNAPSHOT_MACHINE = 'snapshot';
/** How the ASL names a value CDK substitutes: `${Name}`. */
export const placeholder = (name: string): string => `\${${name}}`;
export const SNAPSHOT_ARN_PLACEHOLDER = placeholder('SnapshotStateMachineArn');
const FUNCTION_PLACEHOLDER = /^\$\{(\w+)FunctionArn\}$/;
/** Only an ARN-shaped string passes the runner's validation; it is never called (every Task is overridden). */
const LOCAL_FUNCTION_ARN = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
export const LOCAL_SNAPSHOT_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:snapshot';

export interface LoadedMachine {
  definition: StateMachineDefinition;
  /** Task state name → handler name (from its `${<name>FunctionArn}` placeholder). */
  taskHandlers: Map<string, string>;
  /** Task states that start the snapshot child machine. */
  childTasks: string[];
}

type Json = Record<string, unknown>;

function visitStates(states: Json, visit: (name: string, state: Json) => void): void {
  for (const [name, value] of Object.entries(states)) {
    const state = value as Json;
    visit(name, state);
    const processor = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
    if (processor) visitStates(processor.States as Json, visit);
    for (const branch of (state.Branches as Json[] | undefined) ?? [])
      visitStates(branch.States as Json, visit);
  }
}

/** Reads the ASL file as committed, the same text CDK deploys. */
export function readDefinition(name: string): Json {
  return JSON.parse(readFileSync(join(STATE_MACHINES_DIR, `${name}.asl.json`), 'utf8')) as Json;
}

/** Fills the placeholders as CDK's DefinitionSubstitutions would, with local stand-in ARNs. */
export function loadMachine(name: string): LoadedMachine {
  const raw = readDefinition(name);
  const taskHandlers = new Map<string, string>();
  const childTasks: string[] = [];
  visitStates(raw.States as Json, (stateName, state) => {
    if (state.Type !== 'Task') return;
    const resource = String(state.Resource);
    const match = FUNCTION_PLACEHOLDER.exec(resource);
    if (match?.[1]) {
      if (taskHandlers.has(stateName)) throw new Error(`${name}: state name ${stateName} is used twice`);
      taskHandlers.set(stateName, match[1]);
      state.Resource = LOCAL_FUNCTION_ARN(match[1]);
      return;
    }
    const parameters = state.Parameters as Json | undefined;
    if (parameters?.StateMachineArn === SNAPSHOT_ARN_PLACEHOLDER) {
      parameters.StateMachineArn = LOCAL_SNAPSHOT_ARN;
      childTasks.push(stateName);
      return;
    }
    throw new Error(`${name}: Task ${stateName} has no placeholder the local runner knows (${resource})`);
  });
  return { definition: raw as unknown as StateMachineDefinition, taskHandlers, childTasks };
}
