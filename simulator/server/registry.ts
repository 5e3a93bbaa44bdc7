/**
 * Command name → handler. Names are case-sensitive like the real server's, except the legacy
 * `isMaster`/`ismaster` pair which the server registers as aliases.
 */
import type { CommandHandler } from '../contract.js';

const ALIASES: Readonly<Record<string, string>> = { ismaster: 'isMaster' };

export class CommandRegistry {
  private readonly handlers = new Map<string, CommandHandler>();

  register(name: string, handler: CommandHandler): void {
    const canonical = ALIASES[name] ?? name;
    if (this.handlers.has(canonical)) throw new Error(`Command ${canonical} is registered twice`);
    this.handlers.set(canonical, handler);
  }

  registerAll(handlers: Record<string, CommandHandler>): void {
    for (const [name, handler] of Object.entries(handlers)) this.register(name, handler);
  }

  lookup(name: string): CommandHandler | undefined {
    return this.handlers.get(ALIASES[name] ?? name);
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  names(): string[] {
    return [...this.handlers.keys()].sort();
  }
}
