import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { errorNamesWith } from '../../functions/core/error-names.js';
import { TASKS } from '../../functions/handlers/tasks/index.js';
import { LIFECYCLE_OPERATIONS } from '../../functions/ports/lifecycle.js';
import {
  loadMachine,
  readDefinition,
  SNAPSHOT_ARN_PLACEHOLDER,
  STATE_MACHINES_DIR,
} from '../../local/stepfunctions/definitions.js';

type Json = Record<string, unknown>;
type Validator = (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => {
  isValid: boolean;
  errors: unknown[];
};
const validate = createRequire(import.meta.url)('asl-validator') as Validator;

const MACHINES = [...LIFECYCLE_OPERATIONS, 'snapshot'];
const FUNCTION_PLACEHOLDER = /^\$\{(\w+)FunctionArn\}$/;
const CHILD_RESOURCE = 'arn:aws:states:::states:startExecution.sync:2';

function allStates(states: Json, out: [string, Json][] = []): [string, Json][] {
  for (const [name, value] of Object.entries(states)) {
    const state = value as Json;
    out.push([name, state]);
    const processor = state.ItemProcessor as Json | undefined;
    if (processor) allStates(processor.States as Json, out);
  }
  return out;
}

/** What CDK's DefinitionSubstitutions does, with ARN-shaped values. */
function filled(name: string): unknown {
  const text = JSON.stringify(readDefinition(name))
    .replace(/\$\{(\w+)FunctionArn\}/g, 'arn:aws:lambda:eu-west-1:123456789012:function:$1')
    .replace(SNAPSHOT_ARN_PLACEHOLDER, 'arn:aws:states:eu-west-1:123456789012:stateMachine:snapshot');
  return JSON.parse(text);
}

describe('state machine definitions', () => {
  it('are one file per lifecycle operation plus the shared snapshot flow', () => {
    const files = readdirSync(STATE_MACHINES_DIR).filter((file) => file.endsWith('.asl.json'));
    expect(files.sort()).toEqual(MACHINES.map((name) => `${name}.asl.json`).sort());
  });

  it.each(MACHINES)('%s passes asl-validator once its placeholders are filled', (name) => {
    const result = validate(filled(name));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it.each(MACHINES)('%s is JSONPath only: no JSONata, no Assign, no variables', (name) => {
    const text = JSON.stringify(readDefinition(name));
    expect(text).not.toMatch(/"QueryLanguage"|"Assign"|"Arguments"|"Output"\s*:|\{%/);
  });

  it.each(MACHINES)('%s: every Task retries exactly the core retry names and catches the rest', (name) => {
    const tasks = allStates(readDefinition(name).States as Json).filter(([, state]) => state.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(0);
    const caught = [...errorNamesWith('fatal'), ...errorNamesWith('history-lost')].sort();
    for (const [stateName, state] of tasks) {
      const retry = state.Retry as { ErrorEquals: string[] }[];
      const catchers = state.Catch as { ErrorEquals: string[]; Next: string }[];
      expect(retry?.[0]?.ErrorEquals.slice().sort(), `${name}.${stateName} Retry`).toEqual(
        errorNamesWith('retry').sort(),
      );
      expect(catchers?.at(-1)?.ErrorEquals, `${name}.${stateName} catch-all`).toEqual(['States.ALL']);
      if (stateName !== 'MarkFailed') {
        const named = catchers.find((catcher) => catcher.ErrorEquals.includes('FatalError'));
        expect(named?.ErrorEquals.slice().sort(), `${name}.${stateName} Catch`).toEqual(caught);
      }
    }
  });

  it.each(MACHINES)(
    '%s: every Lambda Task is re-run once its function was killed (out of memory, timeout)',
    (name) => {
      const lambdaTasks = allStates(readDefinition(name).States as Json).filter(
        ([, state]) => state.Type === 'Task' && FUNCTION_PLACEHOLDER.test(String(state.Resource)),
      );
      expect(lambdaTasks.length).toBeGreaterThan(0);
      for (const [stateName, state] of lambdaTasks) {
        const retry = state.Retry as { ErrorEquals: string[]; MaxAttempts: number }[];
        const killed = retry.find((retrier) => retrier.ErrorEquals.includes('Lambda.Unknown'));
        expect(killed?.ErrorEquals.slice().sort(), `${name}.${stateName}`).toEqual([
          'Lambda.Unknown',
          'Sandbox.Timedout',
        ]);
        expect(killed?.MaxAttempts, `${name}.${stateName}`).toBeGreaterThan(0);
      }
    },
  );

  it.each(MACHINES)('%s: every Task resource is a placeholder with a handler behind it', (name) => {
    for (const [stateName, state] of allStates(readDefinition(name).States as Json)) {
      if (state.Type !== 'Task') continue;
      const resource = String(state.Resource);
      if (resource === CHILD_RESOURCE) {
        expect((state.Parameters as Json).StateMachineArn, stateName).toBe(SNAPSHOT_ARN_PLACEHOLDER);
        continue;
      }
      const handler = FUNCTION_PLACEHOLDER.exec(resource)?.[1];
      expect(handler, `${name}.${stateName}: ${resource}`).toBeDefined();
      expect(Object.keys(TASKS), `${name}.${stateName}`).toContain(handler);
    }
  });

  it('lists the placeholders the CDK app must fill', () => {
    const placeholders = new Set<string>();
    for (const name of MACHINES) {
      for (const match of JSON.stringify(readDefinition(name)).matchAll(/\$\{(\w+)\}/g))
        placeholders.add(match[1] ?? '');
    }
    expect([...placeholders].sort()).toEqual(
      [...Object.keys(TASKS).map((task) => `${task}FunctionArn`), 'SnapshotStateMachineArn'].sort(),
    );
  });

  it.each(LIFECYCLE_OPERATIONS.filter((operation) => operation !== 'delete'))(
    '%s: a lost race on the first command ends the execution without marking the pipe Failed',
    (name) => {
      const definition = readDefinition(name);
      const states = definition.States as Json;
      // create starts with a Choice: a stored pipe goes on to the command's first Task.
      let first = states[definition.StartAt as string] as Json;
      if (first.Type === 'Choice')
        first = states[(first.Choices as { Next: string }[])[0]?.Next ?? ''] as Json;
      const catchers = first.Catch as { ErrorEquals: string[]; Next: string }[];
      expect(catchers[0]).toMatchObject({ ErrorEquals: ['StateConflictError', 'IllegalTransitionError'] });
      const target = states[catchers[0]?.Next ?? ''] as Json;
      expect(target.Type).toBe('Fail');
    },
  );

  it('the local runner maps every Task to a handler and the child Tasks to the snapshot flow', () => {
    for (const name of MACHINES) {
      const machine = loadMachine(name);
      for (const handler of machine.taskHandlers.values()) expect(Object.keys(TASKS)).toContain(handler);
    }
    expect(loadMachine('create').childTasks).toEqual(['RunSnapshot']);
  });
});
