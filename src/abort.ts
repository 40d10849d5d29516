/** Cancellation helpers shared by the Cloud API client, the SQL layer and the KMS providers. */

/** The error a cancelled call rejects with (tool-call.ts maps the name to "Cancelled"). */
export function abortError(): Error {
  return new DOMException('The operation was cancelled', 'AbortError');
}

/** Resolves after `ms` (unref'd timer); rejects with an AbortError when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
