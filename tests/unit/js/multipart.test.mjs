// The multipart path (web/js/multipart.js) against a fake API + S3 that keeps parts the way
// the real one does (the API grants, S3 holds what was PUT, listParts answers it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { ApiError } from '../../../web/js/api.js';
import { createMultipartUpload, createResumeStore, fingerprint, sha256Base64 } from '../../../web/js/multipart.js';
import { AbortError } from '../../../web/js/queue.js';
import { deferred, fakeStorage } from './fakes.mjs';

const PART = 10;
const ID = '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

function file(size = 45, name = 'pano.jpg') {
  const bytes = new Uint8Array(size).map((_, i) => i % 251);
  return new File([bytes], name, { type: 'image/jpeg', lastModified: 1700000000000 });
}

/** A fake API over a fake S3: every call is counted; failures can be scripted per part. */
function fakeService({ failOnce = [], holdPart = null } = {}) {
  const held = new Map();
  const granted = new Map();
  const calls = { begin: 0, grant: 0, put: 0, list: 0, complete: 0, abort: 0 };
  const failing = new Set(failOnce);
  const client = {
    async grantParts(id, parts) {
      calls.grant += 1;
      for (const p of parts) granted.set(p.partNumber, p);
      return parts.map((p) => ({ partNumber: p.partNumber, url: `http://s3/${p.partNumber}`, headers: { 'x-amz-checksum-sha256': p.sha256 } }));
    },
    async putPart(grant, blob, { signal }) {
      calls.put += 1;
      const number = grant.partNumber;
      if (failing.delete(number)) throw new ApiError('cut', { kind: 'network' });
      if (holdPart && holdPart.number === number && !holdPart.used) {
        holdPart.used = true; // the connection hangs once
        await new Promise((resolve, reject) => {
          holdPart.started.resolve();
          signal.addEventListener('abort', () => reject(new ApiError('Cancelled.', { kind: 'aborted' })));
        });
      }
      const sha = createHash('sha256').update(Buffer.from(await blob.arrayBuffer())).digest('base64');
      assert.equal(sha, grant.headers['x-amz-checksum-sha256'], 'S3 refuses a part whose checksum differs');
      held.set(number, { partNumber: number, size: blob.size, sha256: sha });
    },
    async listParts() {
      calls.list += 1;
      return { partSize: PART, partCount: 5, size: 45, parts: [...held.values()] };
    },
    async completeUpload() {
      calls.complete += 1;
      assert.equal(held.size, 5);
      return { id: ID, status: 'processing' };
    },
    async abortUpload() {
      calls.abort += 1;
      held.clear();
    },
  };
  const begin = async () => {
    calls.begin += 1;
    return { id: ID, method: 'MULTIPART', partSize: PART, partCount: 5, size: 45 };
  };
  return { client, begin, calls, held };
}

const noWait = async () => {};

test('sends every part once, hashed, and completes; progress counts acknowledged bytes only', async () => {
  const service = fakeService();
  const progress = [];
  const upload = createMultipartUpload(file(), { client: service.client, wait: noWait });
  const id = await upload.run({ begin: service.begin, onProgress: (bytes, size, n, count) => progress.push([bytes, n, count]) });
  assert.equal(id, ID);
  assert.deepEqual(service.calls, { begin: 1, grant: 5, put: 5, list: 0, complete: 1, abort: 0 });
  assert.deepEqual(progress[0], [0, 0, 5]);
  assert.deepEqual(progress.at(-1), [45, 5, 5]);
  assert.ok(progress.every(([bytes], i) => i === 0 || bytes > progress[i - 1][0]));
});

test('a part whose connection drops is retried with backoff, granted again', async () => {
  const service = fakeService({ failOnce: [2, 4] });
  const waits = [];
  const upload = createMultipartUpload(file(), { client: service.client, wait: async (ms) => waits.push(ms) });
  await upload.run({ begin: service.begin });
  assert.equal(service.calls.put, 7);
  assert.equal(service.calls.grant, 7);
  assert.deepEqual(waits, [500, 500]);
});

test('a part that keeps failing fails the upload after the last attempt, without completing', async () => {
  const service = fakeService({ failOnce: [3] });
  service.client.putPart = async () => {
    throw new ApiError('cut', { kind: 'network' });
  };
  const upload = createMultipartUpload(file(), { client: service.client, wait: noWait, concurrency: 1, attempts: 3 });
  await assert.rejects(upload.run({ begin: service.begin }), (error) => error.kind === 'network');
  assert.equal(service.calls.complete, 0);
});

test('after a reload the same file resumes: only the missing parts are sent', async () => {
  const storage = fakeStorage();
  const store = createResumeStore(storage);
  const hold = { number: 4, started: deferred() };
  const service = fakeService({ holdPart: hold });
  const first = createMultipartUpload(file(), { client: service.client, wait: noWait, concurrency: 1 });
  const running = first.run({ begin: service.begin, store });
  await hold.started.promise; // parts 1-3 are in, part 4 is in flight
  first.pause(); // the tab goes away
  await assert.rejects(running, AbortError);
  assert.equal(service.held.size, 3);

  const putsBefore = service.calls.put;
  const again = createMultipartUpload(file(), { client: service.client, wait: noWait }); // a new page
  let resumed = null;
  const id = await again.run({ begin: service.begin, store, onResumed: (n, count) => (resumed = [n, count]) });
  assert.equal(id, ID);
  assert.deepEqual(resumed, [3, 5]);
  assert.equal(service.calls.begin, 1, 'no second upload was started');
  assert.equal(service.calls.put - putsBefore, 2, 'only parts 4 and 5 went again');
  assert.equal(service.calls.complete, 1);
  assert.equal(store.get(await fingerprint(file())), null, 'a finished upload is forgotten');
});

test('another file (other modification time) does not resume the first one', async () => {
  const store = createResumeStore(fakeStorage());
  store.save(await fingerprint(file()), ID);
  const other = new File([await file().arrayBuffer()], 'pano.jpg', { lastModified: 1 });
  assert.equal(store.get(await fingerprint(other)), null);
  assert.equal(store.get(await fingerprint(file())), ID);
});

test('an upload the API no longer knows starts afresh', async () => {
  const store = createResumeStore(fakeStorage());
  store.save(await fingerprint(file()), ID);
  const service = fakeService();
  service.client.listParts = async () => {
    throw new ApiError('cancelled', { kind: 'http', status: 409 });
  };
  await createMultipartUpload(file(), { client: service.client, wait: noWait }).run({ begin: service.begin, store });
  assert.equal(service.calls.begin, 1);
  assert.equal(service.calls.put, 5);
});

test('cancel stops the parts, aborts the upload and forgets it', async () => {
  const store = createResumeStore(fakeStorage());
  const hold = { number: 2, started: deferred() };
  const service = fakeService({ holdPart: hold });
  const upload = createMultipartUpload(file(), { client: service.client, wait: noWait, concurrency: 1 });
  const running = upload.run({ begin: service.begin, store });
  await hold.started.promise;
  const stopped = assert.rejects(running, AbortError);
  await upload.cancel(store);
  await stopped;
  assert.equal(service.calls.abort, 1);
  assert.equal(service.calls.complete, 0);
  assert.equal(store.get(await fingerprint(file())), null);
});

test('sha256Base64 is the base64 SHA-256 S3 compares', async () => {
  const blob = new Blob([new TextEncoder().encode('abc')]);
  assert.equal(await sha256Base64(blob), createHash('sha256').update('abc').digest('base64'));
});

test('without Web Crypto (an http page) the plain-JavaScript digest gives the same checksum', async () => {
  for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 100003]) {
    const bytes = new Uint8Array(size).map((_, i) => (i * 31) % 256);
    const expected = createHash('sha256').update(bytes).digest('base64');
    assert.equal(await sha256Base64(new Blob([bytes]), null), expected, `size ${size}`);
  }
});
