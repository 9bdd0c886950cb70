// Scheduling helpers with no DOM: a concurrency limiter and status polling with backoff.
// Time and sleeping are injectable so the logic can be unit tested without waiting.

/**
 * createLimiter(3) returns run(task): task is an async function; at most `limit` tasks run
 * at once, the others wait in order.
 */
export function createLimiter(limit) {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be >= 1');
  let active = 0;
  const waiting = [];

  function next() {
    if (active >= limit || waiting.length === 0) return;
    active += 1;
    const { task, resolve, reject } = waiting.shift();
    Promise.resolve()
      .then(task)
      .then(resolve, reject)
      .finally(() => {
        active -= 1;
        next();
      });
  }

  const run = (task) =>
    new Promise((resolve, reject) => {
      waiting.push({ task, resolve, reject });
      next();
    });
  run.stats = () => ({ active, waiting: waiting.length });
  return run;
}

/** 500, 1000, 2000, 4000, 4000, ... for attempt 0, 1, 2, ... */
export function backoffDelay(attempt, initialMs = 500, maxMs = 4000) {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
}

export class PollTimeoutError extends Error {
  constructor(elapsedMs) {
    super(`Still processing after ${Math.round(elapsedMs / 1000)} seconds.`);
    this.name = 'PollTimeoutError';
    this.elapsedMs = elapsedMs;
  }
}

export class AbortError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'AbortError';
  }
}

/** Promise-based sleep that rejects with AbortError when the signal fires. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(new AbortError());
      return;
    }
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(new AbortError());
    }
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Call check() with exponential backoff until it returns a status other than "processing".
 * - check(): async, returns {status, ...}
 * - isTransient(error, elapsedMs): true to keep polling after an error (network blips, 5xx)
 * - onWait(delayMs, attempt): optional, called before each wait
 * Throws PollTimeoutError once timeoutMs has passed without a final answer.
 */
export async function pollUntilSettled(check, options = {}) {
  const {
    initialDelayMs = 500,
    maxDelayMs = 4000,
    timeoutMs = 120000,
    isTransient = () => false,
    onWait = () => {},
    now = () => Date.now(),
    wait = sleep,
    signal,
  } = options;
  const start = now();
  for (let attempt = 0; ; attempt += 1) {
    const elapsed = now() - start;
    if (elapsed >= timeoutMs) throw new PollTimeoutError(elapsed);
    const delay = Math.min(backoffDelay(attempt, initialDelayMs, maxDelayMs), timeoutMs - elapsed);
    onWait(delay, attempt);
    await wait(delay, signal);
    let result;
    try {
      result = await check();
    } catch (error) {
      if (error instanceof AbortError || !isTransient(error, now() - start)) throw error;
      continue;
    }
    if (!result || result.status !== 'processing') return result;
  }
}
