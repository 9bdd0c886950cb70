// Start-up pieces without a DOM: config.json loading (web/js/page_config.js) and the API client
// every feature calls (web/js/client.js: the token, and which calls end the session on a 401).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createClient } from '../../../web/js/client.js';
import { describeDelivery, describeLimits, loadConfig } from '../../../web/js/page_config.js';
import { ConfigError } from '../../../web/js/validate.js';

const RAW = {
  apiUrl: 'http://api.test/prod/',
  maxBytes: 20971520,
  allowedTypes: ['image/jpeg', 'image/png'],
  variants: [
    { name: 'large', maxEdge: 1024, formats: ['avif', 'jpeg'] },
    { name: 'thumb', maxEdge: 128, formats: ['webp'] },
  ],
  variantRules: {
    namePattern: '^[a-z0-9][a-z0-9_-]{0,31}$',
    maxEdge: { min: 16, max: 8192 },
    count: { min: 1, max: 10 },
    formats: ['jpeg', 'png', 'webp', 'avif'],
    perVariant: { min: 1, max: 4 },
  },
};

const answering = (response) => async (url, init) => {
  assert.equal(url, './config.json');
  assert.deepEqual(init, { cache: 'no-store' });
  return response;
};

test('loadConfig fetches ./config.json uncached and checks it', async () => {
  const config = await loadConfig(answering({ ok: true, status: 200, json: async () => RAW }));
  assert.equal(config.apiUrl, 'http://api.test/prod');
});

test('every way config.json can fail is a ConfigError with a sentence for the page', async () => {
  const cases = [
    [async () => Promise.reject(new TypeError('Failed to fetch')), /could not be downloaded/],
    [answering({ ok: false, status: 404 }), /is missing \(HTTP 404\)/],
    [answering({ ok: true, status: 200, json: async () => Promise.reject(new SyntaxError('x')) }), /is not valid JSON/],
    [answering({ ok: true, status: 200, json: async () => ({ ...RAW, maxBytes: -1 }) }), /config\.json is not valid/],
  ];
  for (const [fetchImpl, message] of cases) {
    await assert.rejects(loadConfig(fetchImpl), (error) => error instanceof ConfigError && message.test(error.message));
  }
});

test('describeLimits: the accept list and the sentences about types, size and the sizes made', async () => {
  const config = await loadConfig(answering({ ok: true, status: 200, json: async () => RAW }));
  const limits = describeLimits(config);
  assert.match(limits.accept, /image\/jpeg/);
  assert.match(limits.hint, /^JPEG or PNG images, up to 20 MB each\. You can choose several at once\.$/);
  assert.match(limits.intro, /^Each image comes back in 2 sizes: .*Images are never made bigger than the original\.$/);
});

function recordingApi() {
  const calls = [];
  const refuse = (name) => async (...args) => {
    calls.push([name, args.at(-1)]);
    throw Object.assign(new Error('Unauthorized'), { status: 401 });
  };
  return {
    calls,
    api: {
      createUpload: refuse('createUpload'),
      getStatus: refuse('getStatus'),
      listUploads: refuse('listUploads'),
      deleteUpload: refuse('deleteUpload'),
    },
  };
}

test('client: with a session every call carries the ID token; only create and delete end it on a 401', async () => {
  let expired = 0;
  const session = { idToken: async () => 'id-1', expired: () => (expired += 1) };
  const { api, calls } = recordingApi();
  const client = createClient({ apiUrl: 'http://api.test', session, api });
  await assert.rejects(client.createUpload({ contentType: 'image/png', size: 1, filename: 'a.png' }));
  assert.equal(expired, 1);
  await assert.rejects(client.deleteUpload('id'));
  assert.equal(expired, 2);
  // A poll's 401 shows on the row; a listing's 401 is judged by the gallery (current session only).
  await assert.rejects(client.getStatus('id'));
  await assert.rejects(client.listUploads({ limit: 12, cursor: 'c', signal: null }));
  assert.equal(expired, 2);
  assert.deepEqual(calls.map(([name, options]) => [name, options.token]), [
    ['createUpload', 'id-1'],
    ['deleteUpload', 'id-1'],
    ['getStatus', 'id-1'],
    ['listUploads', 'id-1'],
  ]);
  assert.equal(client.refused(Object.assign(new Error('x'), { status: 401 })).message, 'x');
  assert.equal(expired, 3);
});

test('client: without sign-in no token is sent and a 401 ends nothing', async () => {
  const { api, calls } = recordingApi();
  const client = createClient({ apiUrl: 'http://api.test', api });
  await assert.rejects(client.createUpload({ contentType: 'image/png', size: 1, filename: 'a.png' }));
  assert.deepEqual(calls[0][1], {});
});

test('describeDelivery: the footer says what the links are', () => {
  assert.match(describeDelivery({ mode: 'public', ttlSeconds: null }), /^Image links are permanent: anyone who has a link/);
  assert.match(describeDelivery({ mode: 'signed', ttlSeconds: 3600 }), /signed for you and work for 1 hour\./);
  assert.match(describeDelivery({ mode: 'presigned', ttlSeconds: 300 }), /stop working after 5 minutes\. Save/);
  assert.match(describeDelivery({ mode: 'presigned', ttlSeconds: null }), /after a few minutes/);
  assert.match(describeDelivery({ mode: 'signed', ttlSeconds: 90 }), /90 seconds/);
});
