import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, from this file's place in it: a CDK app run from any directory (a user's
 * own app) finds the handlers, the state machines and the lock file here.
 */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The state machines' files, relative to the repository root. */
export const STATE_MACHINE_DIR = 'statemachines';
export const TASK_HANDLER_DIR = 'functions/handlers/tasks';

/** `${...}` placeholders CDK fills through DefinitionSubstitutions. */
const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;
const FUNCTION_PLACEHOLDER = /^([A-Z][A-Za-z0-9]*)FunctionArn$/;

/** The one placeholder that names a state machine rather than a function. */
export const SNAPSHOT_MACHINE_PLACEHOLDER = 'SnapshotStateMachineArn';

export interface MachineFile {
  /** The file name without `.asl.json`, e.g. `addTables`: also the lifecycle operation's name. */
  name: string;
  path: string;
  text: string;
  placeholders: string[];
}

export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[1] as string))].sort();
}

/** Every `*.asl.json` in statemachines/, read now: the stack follows the files as they change. */
export function readMachineFiles(root = '.'): MachineFile[] {
  const dir = join(root, STATE_MACHINE_DIR);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.asl.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      return {
        name: file.slice(0, -'.asl.json'.length),
        path: join(dir, file),
        text,
        placeholders: placeholdersIn(text),
      };
    });
}

/** `SetUpDestinationFunctionArn` → `SetUpDestination`; null for a placeholder that names no function. */
export function taskNameOf(placeholder: string): string | null {
  return FUNCTION_PLACEHOLDER.exec(placeholder)?.[1] ?? null;
}

/** The naming rule: task `SetUpDestination` lives in `functions/handlers/tasks/set-up-destination.ts`. */
export function handlerFileOf(taskName: string): string {
  const kebab = taskName.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
  return `${TASK_HANDLER_DIR}/${kebab}.ts`;
}

/** Task names in the order first seen, each with its handler entry; throws when a file is missing. */
export function taskFunctionsOf(machines: MachineFile[], root = '.'): Map<string, string> {
  const tasks = new Map<string, string>();
  const unknown: string[] = [];
  for (const machine of machines) {
    for (const placeholder of machine.placeholders) {
      if (placeholder === SNAPSHOT_MACHINE_PLACEHOLDER) continue;
      const task = taskNameOf(placeholder);
      if (task === null) {
        unknown.push(`${machine.name}: \${${placeholder}}`);
        continue;
      }
      const entry = handlerFileOf(task);
      if (!existsSync(join(root, entry))) unknown.push(`${machine.name}: \${${placeholder}} (no ${entry})`);
      tasks.set(task, entry);
    }
  }
  if (unknown.length > 0) throw new Error(`placeholders without a handler: ${unknown.join(', ')}`);
  return tasks;
}

/** Handler files under tasks/ that export a Lambda `handler` (helpers such as common.ts do not). */
export function taskHandlerFiles(root = '.'): string[] {
  const dir = join(root, TASK_HANDLER_DIR);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .filter((file) => /^export const handler\b/m.test(readFileSync(join(dir, file), 'utf8')))
    .map((file) => `${TASK_HANDLER_DIR}/${file}`)
    .sort();
}
