/**
 * Throttling, 5xx answers and broken connections injected into a REAL AWS SDK client (the one
 * talking to dynalite or another local stand-in), at the wire: a middleware sits between the
 * SDK's deserializer and the HTTP handler and replaces the service's answer. What the adapter
 * sees is what the SDK builds from that answer (a `ProvisionedThroughputExceededException` with
 * `$fault`, `$metadata.httpStatusCode`, …), exactly as from the real service.
 */

/** What one call meets instead of the service's answer. */
export type AwsFault =
  /** An HTTP error answer with the service's JSON error body (`__type`, `message`). */
  | { kind: 'answer'; status: number; type: string; message?: string; after?: boolean }
  /** The connection breaks (Node socket error code, e.g. ECONNRESET "socket hang up"). */
  | { kind: 'socket'; code: string; message?: string; after?: boolean }
  /** The SDK's own request timeout (`TimeoutError`). */
  | { kind: 'timeout'; after?: boolean };

/**
 * `after: true` lets the request reach the service first (the write is applied) and loses only
 * the answer: what a 500 or a reset can mean ("the request may or may not have succeeded").
 */
export const FAULTS = {
  throughputExceeded: {
    kind: 'answer',
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  },
  throttling: { kind: 'answer', status: 400, type: 'ThrottlingException', message: 'Rate exceeded' },
  tooManyRequests: {
    kind: 'answer',
    status: 429,
    type: 'TooManyRequestsException',
    message: 'Rate exceeded',
  },
  internalError: {
    kind: 'answer',
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
  serviceUnavailable: {
    kind: 'answer',
    status: 503,
    type: 'ServiceUnavailable',
    message: 'Service Unavailable',
  },
  connectionReset: { kind: 'socket', code: 'ECONNRESET', message: 'socket hang up' },
  timeout: { kind: 'timeout' },
  accessDenied: {
    kind: 'answer',
    status: 400,
    type: 'com.amazon.coral.service#AccessDeniedException',
    message:
      'User: arn:aws:sts::123456789012:assumed-role/pipes-task/fn is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/Pipes because no identity-based policy allows the dynamodb:PutItem action',
  },
} as const satisfies Record<string, AwsFault>;

/** One call as the middleware sees it. */
export interface AwsCallInfo {
  /** e.g. `PutItemCommand`. */
  command: string;
  // biome-ignore lint/suspicious/noExplicitAny: the command input, whatever the service
  input: any;
  /** 1-based count of calls this injector saw. */
  n: number;
}

export interface AwsFaultInjector {
  /** `Command: what it met`, in order. */
  readonly fired: string[];
  /** Every call the injector saw, failed or not. */
  readonly calls: number;
  /** Stops injecting (the client goes on working). */
  off(): void;
}

/** The minimum of an SDK client this needs: its middleware stack. */
interface WithMiddleware {
  middlewareStack: {
    addRelativeTo(
      middleware: unknown,
      options: { relation: 'before' | 'after'; toMiddleware: string; name?: string; override?: boolean },
    ): void;
    remove(name: string): boolean;
  };
}

const NAME = 'testAwsFaultInjection';

function faultAnswer(fault: Extract<AwsFault, { kind: 'answer' }>, requestId: string) {
  const body = new TextEncoder().encode(
    JSON.stringify({ __type: fault.type, message: fault.message ?? fault.type }),
  );
  const shortType = fault.type.split('#').pop() ?? fault.type;
  return {
    statusCode: fault.status,
    reason: undefined,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': String(body.byteLength),
      'x-amzn-errortype': shortType,
      'x-amzn-requestid': requestId,
    },
    body,
  };
}

function faultError(fault: Exclude<AwsFault, { kind: 'answer' }>): Error {
  if (fault.kind === 'timeout') {
    return Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
  }
  return Object.assign(new Error(fault.message ?? `read ${fault.code}`), { code: fault.code });
}

/**
 * Calls `choose` for every call the client makes; the fault it returns replaces the service's
 * answer (or, with `after`, the answer of a request the service did apply).
 */
export function injectAwsFaults(
  client: WithMiddleware,
  choose: (call: AwsCallInfo) => AwsFault | undefined,
): AwsFaultInjector {
  const fired: string[] = [];
  let calls = 0;
  let on = true;
  const middleware =
    (next: (args: unknown) => Promise<{ response: unknown }>, context: { commandName?: string }) =>
    async (args: { input?: unknown }) => {
      calls += 1;
      const command = context.commandName ?? 'UnknownCommand';
      const fault = on ? choose({ command, input: args.input, n: calls }) : undefined;
      if (!fault) return next(args);
      fired.push(
        `${command}: ${fault.kind === 'answer' ? `${fault.status} ${fault.type.split('#').pop()}` : fault.kind === 'socket' ? fault.code : 'TimeoutError'}${fault.after ? ' (after it was applied)' : ''}`,
      );
      if (fault.after) await next(args);
      if (fault.kind === 'answer') return { response: faultAnswer(fault, `injected-${calls}`) };
      throw faultError(fault);
    };
  client.middlewareStack.addRelativeTo(middleware, {
    relation: 'after',
    toMiddleware: 'deserializerMiddleware',
    name: NAME,
    override: true,
  });
  return {
    fired,
    get calls() {
      return calls;
    },
    off() {
      on = false;
    },
  };
}

/** Fails the first `times` calls whose command is one of `commands` (all commands when empty). */
export function failFirst(
  times: number,
  fault: AwsFault,
  commands: readonly string[] = [],
): (call: AwsCallInfo) => AwsFault | undefined {
  let left = times;
  return (call) => {
    if (left <= 0) return undefined;
    if (commands.length > 0 && !commands.includes(call.command)) return undefined;
    left -= 1;
    return fault;
  };
}
