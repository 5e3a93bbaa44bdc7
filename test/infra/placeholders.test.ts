import { describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_ENV } from '../../functions/adapters/stepfunctions/starter.js';
import { TASKS } from '../../functions/handlers/tasks/index.js';
import {
  handlerFileOf,
  placeholdersIn,
  readMachineFiles,
  taskFunctionsOf,
  taskHandlerFiles,
  taskNameOf,
} from '../../infra/placeholders.js';

const machines = readMachineFiles();

describe('placeholders of statemachines/ → functions', () => {
  it('finds each placeholder once, sorted', () => {
    const text = ['B', 'A', 'B'].map((task) => `"$\{${task}FunctionArn}"`).join(',');
    expect(placeholdersIn(text)).toEqual(['AFunctionArn', 'BFunctionArn']);
  });

  it('maps a task name to its handler file by the naming rule', () => {
    expect(taskNameOf('SetUpDestinationFunctionArn')).toBe('SetUpDestination');
    expect(taskNameOf('SnapshotStateMachineArn')).toBeNull();
    expect(handlerFileOf('SetUpDestination')).toBe('functions/handlers/tasks/set-up-destination.ts');
  });

  it('every placeholder has a handler file', () => {
    expect(() => taskFunctionsOf(machines)).not.toThrow();
  });

  it('fails on a placeholder without a handler', () => {
    const bogus = {
      name: 'bogus',
      path: 'bogus.asl.json',
      text: '',
      placeholders: ['NoSuchTaskFunctionArn'],
    };
    expect(() => taskFunctionsOf([bogus])).toThrow(/NoSuchTaskFunctionArn/);
  });

  it('every task handler file is named by some placeholder', () => {
    const used = new Set(taskFunctionsOf(machines).values());
    expect(taskHandlerFiles().filter((file) => !used.has(file))).toEqual([]);
  });

  it('the task names agree with the handlers’ own names', () => {
    expect([...taskFunctionsOf(machines).keys()].sort()).toEqual(Object.keys(TASKS).sort());
  });

  it('there is a machine file for every lifecycle operation, plus the snapshot child', () => {
    const names = machines.map((machine) => machine.name).sort();
    expect(names).toEqual([...Object.keys(STATE_MACHINE_ARN_ENV), 'snapshot'].sort());
  });
});
