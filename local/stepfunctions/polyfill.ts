/**
 * aws-local-stepfunctions calls Promise.withResolvers (Node 22). On Node 20 every Task would
 * fail with a TypeError, which a States.ALL Catch then swallows silently; so it is added here
 * before any machine runs.
 */
export function installPromiseWithResolvers(): void {
  const target = Promise as unknown as { withResolvers?: unknown };
  if (typeof target.withResolvers === 'function') return;
  target.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
