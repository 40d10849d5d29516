/**
 * An object whose (async) methods load the real implementation on first call, keeping module
 * loading and I/O out of start-up. `close()` before anything was loaded is a no-op, and a failed
 * load is retried on the next call.
 */
export function deferred<T extends object>(load: () => Promise<T>): T {
  let instance: Promise<T> | undefined;
  const get = () => {
    if (!instance) {
      instance = load();
      instance.catch(() => {
        instance = undefined;
      });
    }
    return instance;
  };
  return new Proxy({} as T, {
    get(_target, key) {
      if (key === 'then') return undefined;
      return async (...args: unknown[]) => {
        if (key === 'close' && !instance) return undefined;
        const target = await get();
        return (target[key as keyof T] as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
