// The multipart path, no DOM: a large file goes up in parts (a bounded number at once), each
// hashed (SHA-256, Web Crypto), granted just in time by the API (a URL bound to the part's
// number, size and checksum), PUT with retries and backoff; progress counts acknowledged bytes
// only. A file picked again after a reload or a lost connection (same name, size, modification
// time and hash of its first MiB) resumes: the API lists the parts S3 holds, only the rest is
// sent. Pause stops the parts in flight; cancel also aborts the upload (S3 drops the parts).
import { ApiError } from './api.js';
import { AbortError, backoffDelay, sleep } from './queue.js';
import { sha256 } from './sha256.js';

export const PART_CONCURRENCY = 3;
export const PART_ATTEMPTS = 5;
const FINGERPRINT_BYTES = 1024 * 1024;
const STORE_KEY = 'sip.multipart.v1';
const STORE_MAX_AGE_MS = 24 * 60 * 60 * 1000; // S3's lifecycle aborts unfinished uploads after a day

function toBase64(buffer) {
  let text = '';
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
  return btoa(text);
}

/**
 * Base64 SHA-256 of a Blob (what S3's x-amz-checksum-sha256 carries): Web Crypto in a secure
 * context (https, localhost), the plain-JavaScript digest elsewhere (an http page).
 */
export async function sha256Base64(blob, subtle = globalThis.crypto && globalThis.crypto.subtle) {
  const buffer = await blob.arrayBuffer();
  return toBase64(subtle ? await subtle.digest('SHA-256', buffer) : sha256(new Uint8Array(buffer)));
}

/** What identifies "the same file" across reloads: name, size, modification time, hash of its start. */
export async function fingerprint(file, hash = sha256Base64) {
  const start = await hash(file.slice(0, Math.min(file.size, FINGERPRINT_BYTES)));
  return `${file.name}|${file.size}|${file.lastModified}|${start}`;
}

/** Unfinished multipart uploads of this browser: fingerprint -> {id, savedAt} in localStorage. */
export function createResumeStore(storage = globalThis.localStorage, now = () => Date.now()) {
  function read() {
    try {
      const value = JSON.parse(storage.getItem(STORE_KEY) || '{}');
      return value && typeof value === 'object' ? value : {};
    } catch {
      return {};
    }
  }
  function write(entries) {
    try {
      storage.setItem(STORE_KEY, JSON.stringify(entries));
    } catch {
      // Storage full or disabled: the upload still works, it just cannot resume after a reload.
    }
  }
  return {
    get(key) {
      const entry = read()[key];
      return entry && typeof entry.id === 'string' && now() - entry.savedAt < STORE_MAX_AGE_MS ? entry.id : null;
    },
    save(key, id) {
      const entries = read();
      for (const [k, v] of Object.entries(entries)) if (!v || now() - v.savedAt >= STORE_MAX_AGE_MS) delete entries[k];
      entries[key] = { id, savedAt: now() };
      write(entries);
    },
    forget(key) {
      const entries = read();
      delete entries[key];
      write(entries);
    },
  };
}

function isRetryablePart(error) {
  return (
    error.kind === 'network' ||
    error.kind === 'response' ||
    error.status === 429 ||
    error.status >= 500 ||
    (error.kind === 'storage' && error.status === 403) // an expired URL: grant it again
  );
}

/** A part's number -> its Blob. */
function partBlob(file, plan, number) {
  const start = (number - 1) * plan.partSize;
  return file.slice(start, Math.min(plan.size, start + plan.partSize));
}

/**
 * One multipart upload, resumable, pausable, cancellable.
 * deps: {client (grantParts, listParts, completeUpload, abortUpload, putPart), store,
 *        hash (Blob -> base64 SHA-256), wait (ms, signal), concurrency, attempts}.
 * onProgress(ackBytes, size, partsIn, partCount).
 */
export function createMultipartUpload(file, deps) {
  const { client, hash = sha256Base64, wait = sleep, concurrency = PART_CONCURRENCY, attempts = PART_ATTEMPTS } = deps;
  let controller = null;
  let plan = null;
  let id = null;
  const acknowledged = new Map(); // part number -> size

  function report(onProgress) {
    let bytes = 0;
    for (const size of acknowledged.values()) bytes += size;
    if (onProgress && plan) onProgress(bytes, plan.size, acknowledged.size, plan.partCount);
  }

  async function sendPart(number, signal, onProgress) {
    const blob = partBlob(file, plan, number);
    const sha256 = await hash(blob);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const [grant] = await client.grantParts(id, [{ partNumber: number, size: blob.size, sha256 }], { signal });
        await client.putPart(grant, blob, { signal });
        acknowledged.set(number, blob.size);
        report(onProgress);
        return;
      } catch (error) {
        if (signal.aborted || error.kind === 'aborted') throw new AbortError();
        if (attempt + 1 >= attempts || !isRetryablePart(error)) throw error;
        await wait(backoffDelay(attempt, 500, 8000), signal);
      }
    }
  }

  async function sendAll(numbers, signal, onProgress) {
    const queue = [...numbers];
    let failure = null;
    async function worker() {
      while (queue.length && !failure) {
        const number = queue.shift();
        try {
          await sendPart(number, signal, onProgress);
        } catch (error) {
          failure = failure || error;
          if (!(error instanceof AbortError)) controller.abort(); // stop the other parts
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, numbers.length) }, worker));
    if (failure) throw failure;
  }

  return {
    get id() {
      return id;
    },
    /**
     * Start or continue. begin(): POST /uploads (only when nothing resumable is known).
     * Resolves the upload id once S3 assembled the file; rejects AbortError on pause/cancel.
     */
    async run({ begin, store, onProgress, onResumed }) {
      controller = new AbortController();
      const { signal } = controller;
      const key = store ? await fingerprint(file, hash) : null;
      const saved = id || (key && store.get(key));
      if (saved) {
        try {
          const held = await client.listParts(saved, { signal });
          if (held.size !== file.size) throw new ApiError('size changed', { kind: 'response' });
          id = saved;
          plan = { partSize: held.partSize, partCount: held.partCount, size: held.size };
          acknowledged.clear();
          for (const part of held.parts) acknowledged.set(part.partNumber, part.size);
          if (onResumed) onResumed(acknowledged.size, plan.partCount);
        } catch (error) {
          if (signal.aborted) throw new AbortError();
          if (error.kind !== 'http' && error.kind !== 'response') throw error;
          if (key) store.forget(key); // gone, completed or cancelled: start afresh
          id = null;
        }
      }
      if (!id) {
        const started = await begin();
        id = started.id;
        plan = { partSize: started.partSize, partCount: started.partCount, size: started.size };
        acknowledged.clear();
        if (key) store.save(key, id);
      }
      report(onProgress);
      const missing = [];
      for (let n = 1; n <= plan.partCount; n += 1) if (!acknowledged.has(n)) missing.push(n);
      await sendAll(missing, signal, onProgress);
      await client.completeUpload(id);
      if (key) store.forget(key);
      return id;
    },
    /** Stop the parts in flight; run() again continues (the API says which parts are in). */
    pause() {
      if (controller) controller.abort();
    },
    /** Stop and abort: S3 drops the parts, the API refunds the quota. */
    async cancel(store) {
      if (controller) controller.abort();
      if (store) store.forget(await fingerprint(file, hash));
      if (id) await client.abortUpload(id);
    },
  };
}
