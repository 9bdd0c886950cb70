// Unit tests for format.js, queue.js and api.js (pure parts; requests through a fake fetch): node --test tests/unit/js/
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  apiErrorFrom,
  completeUpload,
  createUpload,
  getStatus,
  grantParts,
  parseStatus,
  parseStorageError,
  safeHttpUrl,
  storageErrorFrom,
} from '../../../web/js/api.js';
import { describeVariants, formatBytes, listTypes, plural } from '../../../web/js/format.js';
import { backoffDelay, createLimiter, pollUntilSettled, PollTimeoutError } from '../../../web/js/queue.js';

test('formatBytes', () => {
  assert.equal(formatBytes(0), '0 bytes');
  assert.equal(formatBytes(1), '1 byte');
  assert.equal(formatBytes(1023), '1023 bytes');
  assert.equal(formatBytes(2048), '2 KB');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(20971520), '20 MB');
  assert.equal(formatBytes(1024 * 1024 - 1), '1 MB');
  assert.equal(formatBytes(-1), 'unknown size');
});

test('listTypes, describeVariants, plural', () => {
  assert.equal(listTypes(['image/jpeg']), 'JPEG');
  assert.equal(listTypes(['image/jpeg', 'image/png', 'image/webp', 'image/gif']), 'JPEG, PNG, WebP or GIF');
  assert.equal(describeVariants([{ name: 'a', maxEdge: 10 }, { name: 'b', maxEdge: 5 }]), 'a (10 px) and b (5 px)');
  assert.equal(plural(1, 'file'), '1 file');
  assert.equal(plural(3, 'file'), '3 files');
});

test('backoffDelay doubles from 500 ms up to 4 s', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map((n) => backoffDelay(n)), [500, 1000, 2000, 4000, 4000, 4000]);
});

test('createLimiter never runs more than the limit at once', async () => {
  const run = createLimiter(3);
  let active = 0;
  let peak = 0;
  const task = (ms) => async () => {
    active += 1;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, ms));
    active -= 1;
    return ms;
  };
  const results = await Promise.all([5, 1, 3, 2, 4, 1, 2].map((ms) => run(task(ms))));
  assert.equal(peak, 3);
  assert.deepEqual(results, [5, 1, 3, 2, 4, 1, 2]);
  await assert.rejects(run(async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await run(async () => 'still works'), 'still works');
});

function fakeClock() {
  let t = 0;
  return { now: () => t, wait: async (ms) => { t += ms; }, waits: [] };
}

test('pollUntilSettled backs off and returns the final status', async () => {
  const clock = fakeClock();
  const delays = [];
  let calls = 0;
  const result = await pollUntilSettled(async () => (++calls < 5 ? { status: 'processing' } : { status: 'done' }), {
    now: clock.now,
    wait: async (ms) => { delays.push(ms); await clock.wait(ms); },
  });
  assert.equal(result.status, 'done');
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 4000]);
});

test('pollUntilSettled gives up after the timeout', async () => {
  const clock = fakeClock();
  await assert.rejects(
    pollUntilSettled(async () => ({ status: 'processing' }), { now: clock.now, wait: clock.wait, timeoutMs: 120000 }),
    PollTimeoutError,
  );
  assert.equal(clock.now(), 120000);
});

test('pollUntilSettled retries transient errors only', async () => {
  const clock = fakeClock();
  let calls = 0;
  const flaky = async () => {
    calls += 1;
    if (calls < 3) throw Object.assign(new Error('down'), { status: 503 });
    return { status: 'rejected' };
  };
  const result = await pollUntilSettled(flaky, { now: clock.now, wait: clock.wait, isTransient: (e) => e.status >= 500 });
  assert.equal(result.status, 'rejected');
  await assert.rejects(
    pollUntilSettled(async () => { throw Object.assign(new Error('nope'), { status: 400 }); }, {
      now: clock.now, wait: clock.wait, isTransient: (e) => e.status >= 500,
    }),
    /nope/,
  );
});

test('apiErrorFrom shows the server message, or a sentence per status', () => {
  const e = apiErrorFrom(415, JSON.stringify({ error: 'unsupported_type', message: 'Only images please.' }));
  assert.equal(e.message, 'Only images please.');
  assert.equal(e.code, 'unsupported_type');
  assert.equal(e.status, 415);
  assert.match(apiErrorFrom(502, '<html>Bad gateway</html>').message, /HTTP 502/);
  assert.match(apiErrorFrom(413, '').message, /too large/);
});

test('S3 XML errors become readable sentences', () => {
  const xml = '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';
  assert.deepEqual(parseStorageError(xml), { code: 'AccessDenied', message: 'Request has expired' });
  const expired = storageErrorFrom(403, xml);
  assert.match(expired.message, /expired/);
  assert.equal(expired.kind, 'storage');
  assert.match(storageErrorFrom(412, '<Error><Code>PreconditionFailed</Code></Error>').message, /already uploaded/);
  assert.match(storageErrorFrom(500, '').message, /HTTP 500/);
});

test('safeHttpUrl keeps http(s) only', () => {
  assert.equal(safeHttpUrl('https://x.test/a?b=1'), 'https://x.test/a?b=1');
  assert.equal(safeHttpUrl('javascript:alert(1)'), null);
  assert.equal(safeHttpUrl('data:image/png;base64,AAAA'), null);
  assert.equal(safeHttpUrl(''), null);
  assert.equal(safeHttpUrl(undefined), null);
});

test('parseStatus keeps sizes with their sources in order, dropping unsafe ones', () => {
  const status = parseStatus(
    {
      id: 'x',
      status: 'done',
      picture: '<picture></picture>',
      variants: [
        {
          name: 'large',
          width: 1024,
          height: 768,
          picture: '<picture>large</picture>',
          sources: [
            { format: 'avif', type: 'image/avif', bytes: 90, url: 'https://cdn.test/l.avif' },
            { format: 'jpeg', type: 'image/jpeg', bytes: 160, url: 'javascript:alert(1)' },
            { format: 'jpeg', type: 'text/html', bytes: 1, url: 'https://cdn.test/l.html' },
            { format: 'jpeg', type: 'image/jpeg', bytes: 150, url: 'https://cdn.test/l.jpg' },
          ],
        },
        { name: 'none', width: 1, height: 1, sources: [{ type: 'image/jpeg', url: 'ftp://x/y' }] },
      ],
    },
    'x',
  );
  assert.equal(status.picture, '<picture></picture>');
  assert.deepEqual(status.variants.map((v) => v.name), ['large']);
  assert.deepEqual(status.variants[0].sources.map((s) => s.url), ['https://cdn.test/l.avif', 'https://cdn.test/l.jpg']);
  assert.equal(status.variants[0].picture, '<picture>large</picture>');
});

test('parseStatus says which sources animate, a size animating when one of its sources does', () => {
  const source = (format, animated) => ({ format, type: `image/${format}`, animated, bytes: 9, url: `https://cdn.test/${format}` });
  const status = parseStatus(
    {
      id: 'x',
      status: 'done',
      animation: { frames: 8, durationMs: 800, loop: 0 },
      variants: [
        { name: 'large', width: 9, height: 9, animated: true, sources: [source('avif', true), source('jpeg', false)] },
        { name: 'still', width: 9, height: 9, animated: true, sources: [source('jpeg', 'yes')] },
      ],
    },
    'x',
  );
  assert.deepEqual(status.animation, { frames: 8, durationMs: 800, loop: 0 });
  assert.deepEqual(
    status.variants.map((v) => [v.name, v.animated, v.sources.map((s) => s.animated)]),
    [
      ['large', true, [true, false]],
      ['still', false, [false]], // only a source that says true animates; the size follows its sources
    ],
  );
});

test('API calls leave the cache mode alone, so Chromium may reuse a CORS preflight', async () => {
  // cache: 'no-store' | 'no-cache' | 'reload' makes Chromium preflight every call (its preflight
  // cache is skipped); the API's own Cache-Control: no-store already keeps answers out of caches.
  const seen = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    seen.push([url, init]);
    const body = url.endsWith('/parts')
      ? { parts: [{ partNumber: 1, url: 'https://s3.example/p1', headers: {} }] }
      : { id: 'u1', status: 'processing', uploadUrl: 'https://s3.example/u1', method: 'PUT' };
    return new Response(JSON.stringify(body), { status: 200 });
  };
  try {
    const api = 'https://api.example/v1';
    await createUpload(api, { contentType: 'image/jpeg', size: 1, filename: 'a.jpg' }, { token: 'T' });
    await grantParts(api, 'u1', [{ partNumber: 1, size: 1, sha256: 'x' }]);
    await completeUpload(api, 'u1');
    await getStatus(api, 'u1');
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(seen.length, 4);
  for (const [url, init] of seen) {
    assert.equal(init.cache, undefined, `${init.method} ${url} sets cache: ${init.cache}`);
    assert.equal(init.credentials, 'omit');
  }
});
