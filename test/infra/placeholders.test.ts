import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_ENV } from '../../functions/adapters/stepfunctions/starter.js';
import { TASKS } from '../../functions/handlers/tasks/index.js';
import { SCHEDULE_MANAGERS, STARTS_RESYNC } from '../../infra/function-roles.js';
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

describe('grants follow what the task handlers use', () => {
  const sources = [...taskFunctionsOf(machines)].map(
    ([task, entry]) => [task, readFileSync(entry, 'utf8')] as const,
  );

  it('tasks that touch the CDC schedule may manage schedules', () => {
    for (const [task, source] of sources) {
      if (/runtime\.scheduler\.|\.\/fail-pipe\.js/.test(source))
        expect(SCHEDULE_MANAGERS.has(task), task).toBe(true);
    }
  });

  it('tasks that fail a pipe may start its resync (auto-resync after a lost history)', () => {
    for (const [task, source] of sources) {
      if (/\.\/fail-pipe\.js/.test(source)) expect(STARTS_RESYNC.has(task), task).toBe(true);
    }
  });
});
