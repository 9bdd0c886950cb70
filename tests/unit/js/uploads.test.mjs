// The file list (web/js/uploads.js) over a fake document: each row's way from the check through
// the presigned PUT and the polling to its result, the summary, "Clear finished" and the rows
// remembered from earlier visits. The API functions are answered by the test (no network).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createClient } from '../../../web/js/client.js';
import { createHistory } from '../../../web/js/history.js';
import { createUploads } from '../../../web/js/uploads.js';
import { parseConfig } from '../../../web/js/validate.js';
import { installDocument, until } from './fake_dom.mjs';
import { fakeStorage } from './fakes.mjs';

const CONFIG = parseConfig({
  apiUrl: 'http://api.test/prod/',
  maxBytes: 1000,
  allowedTypes: ['image/jpeg', 'image/png'],
  variants: [{ name: 'thumb', maxEdge: 128, formats: ['webp'] }],
  variantRules: {
    namePattern: '^[a-z0-9][a-z0-9_-]{0,31}$',
    maxEdge: { min: 16, max: 8192 },
    count: { min: 1, max: 10 },
    formats: ['jpeg', 'png', 'webp', 'avif'],
    perVariant: { min: 1, max: 4 },
  },
});
const ID1 = '11111111-1111-4111-8111-111111111111';
const ID2 = '22222222-2222-4222-8222-222222222222';
// a size as api.js parses it: sources in preference order, the last the fallback
const THUMB = {
  name: 'thumb',
  width: 128,
  height: 96,
  sources: [
    { format: 'webp', type: 'image/webp', bytes: 500, url: 'https://cdn.test/thumb.webp' },
    { format: 'jpeg', type: 'image/jpeg', bytes: 2300, url: 'https://cdn.test/thumb.jpg' },
  ],
  picture: '<picture>…</picture>',
};
const NO_WAIT = { wait: async () => {} };

function apiError(message, fields) {
  return Object.assign(new Error(message), fields);
}

/** api.js as the test answers it: ids in order, PUT and status answers from the given lists. */
function scriptedApi({ ids = [ID1, ID2], puts = [], statuses = [] } = {}) {
  const calls = [];
  const api = {
    async createUpload(apiUrl, request, options) {
      calls.push(['createUpload', request, options]);
      return { id: ids[calls.filter((c) => c[0] === 'createUpload').length - 1], url: 'https://s3.test/put' };
    },
    async putFile(upload, file, { onProgress }) {
      calls.push(['putFile', upload.id]);
      const next = puts.shift();
      if (next) throw next;
      onProgress(file.size / 2, file.size);
    },
    async getStatus(apiUrl, id, options) {
      calls.push(['getStatus', id, options]);
      const next = statuses.shift() || { status: 'done', variants: [THUMB], placeholder: null };
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { api, calls };
}

function page({ api, session = null, onReady } = {}) {
  const document = installDocument();
  const announced = [];
  const history = createHistory(fakeStorage());
  const elements = {
    list: document.createElement('ul'),
    summary: document.createElement('p'),
    filesSection: document.createElement('section'),
    clearButton: document.createElement('button'),
    dropZone: document.createElement('button'),
  };
  const context = {
    config: CONFIG,
    session,
    client: createClient({ apiUrl: CONFIG.apiUrl, session, api }),
    history,
    announce: (message) => announced.push(message),
  };
  const uploads = createUploads(context, elements, { onReady, poll: NO_WAIT });
  const rows = () => elements.list.children;
  const statuses = () => rows().map((row) => row.dataset.status);
  return { document, uploads, elements, announced, history, rows, statuses };
}

const png = (name = 'cat.png', size = 100) => ({ name, size, type: 'image/png' });

test('a chosen image is presigned, put, polled and shown with its sizes; a bad one is refused', async () => {
  const { api, calls } = scriptedApi();
  let ready = 0;
  const p = page({ api, onReady: () => (ready += 1) });
  p.uploads.addFiles([png(), { name: 'notes.txt', size: 10, type: 'text/plain' }]);
  assert.deepEqual(p.statuses(), ['queued', 'refused']);
  assert.equal(
    p.announced[0],
    '2 files chosen: cat.png, notes.txt. 1 file cannot be uploaded: notes.txt. See the list for why. Uploading 1 file.',
  );
  await until(() => p.statuses()[0] === 'done', 'the upload is done');
  assert.deepEqual(calls[0], ['createUpload', { contentType: 'image/png', size: 100, filename: 'cat.png' }, {}]);
  assert.deepEqual(calls.slice(1).map((c) => c[0]), ['putFile', 'getStatus']);
  const row = p.rows()[0];
  assert.equal(row.dataset.uploadId, ID1);
  assert.equal(row.dataset.progressMax, '50');
  const picture = row.querySelector('picture');
  const [source, img] = picture.children;
  assert.deepEqual([source.tagName, source.getAttribute('type'), source.getAttribute('srcset')], [
    'SOURCE',
    'image/webp',
    'https://cdn.test/thumb.webp',
  ]);
  assert.equal(img.getAttribute('src'), 'https://cdn.test/thumb.jpg');
  assert.deepEqual([img.getAttribute('width'), img.getAttribute('height')], ['128', '96']);
  const formats = row.querySelector('.variant__formats');
  assert.equal(formats.textContent.replace(/ of the .*?\)/g, ''), 'WebP · 500 bytesJPEG · 2.2 KB');
  assert.equal(p.elements.summary.textContent, '2 files: 1 done, 1 not uploaded.');
  assert.equal(p.elements.filesSection.hidden, false);
  assert.equal(p.elements.clearButton.hidden, false);
  assert.ok(p.announced.includes('cat.png is ready in 1 size.'));
  assert.deepEqual(p.history.list().map((e) => e.id), [ID1], 'remembered without sign-in');
  assert.equal(ready, 0, 'no gallery to refresh without sign-in');
});

test('a refused presigned link (storage 403) gets one fresh link; a second refusal is final', async () => {
  const refusedLink = () => apiError('Access denied', { kind: 'storage', status: 403 });
  const once = scriptedApi({ puts: [refusedLink()] });
  const p = page({ api: once.api });
  p.uploads.addFiles([png()]);
  await until(() => p.statuses()[0] === 'done', 'done after a fresh link');
  assert.equal(once.calls.filter((c) => c[0] === 'createUpload').length, 2);

  const twice = scriptedApi({ puts: [refusedLink(), refusedLink()] });
  const q = page({ api: twice.api });
  q.uploads.addFiles([png()]);
  await until(() => q.statuses()[0] === 'error', 'failed after two refusals');
  assert.equal(twice.calls.filter((c) => c[0] === 'createUpload').length, 2);
  assert.equal(q.rows()[0].querySelector('[data-message]').textContent, 'Access denied');
});

test('a failed upload offers "Try again" only when trying again can help', async () => {
  const outage = scriptedApi({ puts: [apiError('The network failed.', { kind: 'network' })] });
  const p = page({ api: outage.api });
  p.uploads.addFiles([png()]);
  await until(() => p.statuses()[0] === 'error', 'the network failure shows');
  const retry = p.rows()[0].querySelectorAll('button')[0];
  assert.equal(retry.textContent, 'Try again');
  assert.equal(retry.hidden, false);
  assert.ok(p.announced.includes('cat.png could not be uploaded. The network failed.'));
  retry.click();
  await until(() => p.statuses()[0] === 'done', 'the second try succeeds');

  const api = scriptedApi().api;
  api.createUpload = async () => {
    throw apiError('This file is too large.', { kind: 'api', status: 400 });
  };
  const q = page({ api });
  q.uploads.addFiles([png()]);
  await until(() => q.statuses()[0] === 'error', 'the 400 shows');
  assert.equal(q.rows()[0].querySelectorAll('button')[0].hidden, true, 'no button for a 400');
});

test('processing that fails offers "Check again"; a rejected image is final', async () => {
  const failed = { status: 'failed', error: { message: 'The service gave up.' } };
  const rejected = { status: 'rejected', error: { message: 'Not an image.' } };
  const { api } = scriptedApi({ statuses: [failed, rejected] });
  const p = page({ api });
  p.uploads.addFiles([png('a.png')]);
  await until(() => p.statuses()[0] === 'error', 'the failure shows');
  const row = p.rows()[0];
  assert.equal(row.querySelector('[data-message]').textContent, 'The service gave up. You can check again later.');
  const check = row.querySelectorAll('button')[0];
  assert.equal(check.textContent, 'Check again');
  check.click();
  await until(() => p.statuses()[0] === 'rejected', 'the second answer is a rejection');
  assert.equal(row.querySelector('[data-message]').textContent, 'Not an image.');
  assert.ok(p.announced.includes('a.png was rejected. Not an image.'));
});

test('polling gives up after its time limit with a sentence in minutes', async () => {
  const { api } = scriptedApi({ statuses: Array(50).fill({ status: 'processing' }) });
  const document = installDocument();
  let clock = 0;
  const elements = {
    list: document.createElement('ul'),
    summary: document.createElement('p'),
    filesSection: document.createElement('section'),
    clearButton: document.createElement('button'),
    dropZone: document.createElement('button'),
  };
  const context = {
    config: CONFIG,
    session: null,
    client: createClient({ apiUrl: CONFIG.apiUrl, api }),
    history: createHistory(fakeStorage()),
    announce: () => {},
  };
  const poll = { now: () => clock, wait: async (ms) => void (clock += ms) };
  createUploads(context, elements, { poll }).addFiles([png()]);
  await until(() => elements.list.children[0].dataset.status === 'error', 'the poll times out');
  assert.equal(clock, 120000);
  assert.match(elements.list.children[0].querySelector('[data-message]').textContent, /^Still processing after 2 minutes/);
});

test('signed in: nothing is remembered in the browser, and a finished upload refreshes the gallery', async () => {
  const { api, calls } = scriptedApi();
  const session = { idToken: async () => 'token-1', expired: () => assert.fail('not expired') };
  let ready = 0;
  const p = page({ api, session, onReady: () => (ready += 1) });
  p.uploads.addFiles([png()]);
  await until(() => p.statuses()[0] === 'done', 'done');
  assert.equal(ready, 1);
  assert.deepEqual(p.history.list(), []);
  assert.deepEqual(calls[0][2], { token: 'token-1' });
  assert.deepEqual(calls.find((c) => c[0] === 'getStatus')[2], { token: 'token-1' });
});

test('"Clear finished" drops done and refused rows (and forgets them) but keeps the rest', async () => {
  const { api } = scriptedApi({ statuses: [{ status: 'done', variants: [THUMB] }, { status: 'failed' }] });
  const p = page({ api });
  p.uploads.addFiles([png('a.png'), png('b.png'), { name: 'c.txt', size: 1, type: 'text/plain' }]);
  await until(() => p.statuses().join() === 'done,error,refused', 'all three settle');
  assert.equal(p.history.list().length, 2);
  p.elements.clearButton.click();
  assert.deepEqual(p.statuses(), ['error']);
  assert.deepEqual(p.history.list().map((e) => e.id), [ID2]);
  assert.equal(p.document.activeElement, p.elements.dropZone);
  assert.equal(p.elements.summary.textContent, '1 file: 1 failed.');
  assert.equal(p.elements.clearButton.hidden, true);
  assert.equal(p.announced.at(-1), 'Finished files cleared from the list.');
});

test('rows remembered from earlier visits are checked again; an expired one says so and can be forgotten', async () => {
  const gone = apiError('Not found.', { status: 404 });
  const { api } = scriptedApi({ statuses: [{ status: 'done', variants: [THUMB] }, gone] });
  const p = page({ api });
  p.history.remember({ id: ID2, name: 'old.png', size: 10, contentType: 'image/png' });
  p.history.remember({ id: ID1, name: 'new.png', size: 10, contentType: 'image/png' });
  p.uploads.showRemembered();
  assert.equal(p.announced.at(-1), '2 earlier uploads from this browser listed below.');
  await until(() => !p.statuses().includes('processing'), 'both settle');
  assert.deepEqual(p.statuses(), ['done', 'error']);
  assert.equal(p.rows()[0].querySelector('[data-message]').textContent, 'Uploaded earlier from this browser.');
  const expired = p.rows()[1];
  assert.equal(
    expired.querySelector('[data-message]').textContent,
    'This upload is no longer available: its results have expired.',
  );
  expired.querySelectorAll('button')[1].click(); // Forget
  assert.equal(p.rows().length, 1);
  assert.deepEqual(p.history.list().map((e) => e.id), [ID1]);
  assert.equal(p.announced.at(-1), 'old.png forgotten: this browser no longer lists it.');
});

test('busy while a file waits or uploads; forgetUpload and forgetAll drop rows', async () => {
  const { api } = scriptedApi();
  let releasePut;
  api.putFile = () => new Promise((resolve) => (releasePut = resolve));
  const p = page({ api });
  assert.equal(p.uploads.busy(), false);
  p.uploads.addFiles([png('a.png'), png('b.png')]);
  assert.equal(p.uploads.busy(), true);
  await until(() => releasePut, 'the first PUT starts');
  p.uploads.forgetUpload(ID1);
  assert.deepEqual(p.rows().map((r) => r.querySelector('h3').textContent), ['b.png']);
  p.uploads.forgetAll();
  assert.equal(p.rows().length, 0);
  assert.equal(p.elements.filesSection.hidden, true);
  assert.equal(p.elements.summary.textContent, '');
});

test('at most three files upload at once; the others wait their turn', async () => {
  const { api } = scriptedApi({ ids: [ID1, ID2, ID1, ID2] });
  const releases = [];
  api.putFile = () => new Promise((resolve) => releases.push(resolve));
  const p = page({ api });
  p.uploads.addFiles([png('a.png'), png('b.png'), png('c.png'), png('d.png')]);
  await until(() => releases.length === 3, 'three PUTs start');
  assert.deepEqual(p.statuses(), ['uploading', 'uploading', 'uploading', 'queued']);
  assert.equal(p.elements.summary.textContent, '4 files: 3 uploading, 1 waiting.');
  releases[0]();
  await until(() => releases.length === 4, 'the fourth starts once one is done');
});

test('"Copy HTML" and "Copy link" put the size\'s snippet and its fallback link on the clipboard', async () => {
  const copied = [];
  globalThis.navigator = { clipboard: { writeText: async (text) => copied.push(text) } };
  try {
    const { api } = scriptedApi();
    const p = page({ api });
    p.uploads.addFiles([png()]);
    await until(() => p.statuses()[0] === 'done', 'the upload is done');
    const card = p.rows()[0].querySelector('.variant');
    const [copyHtml, copyLink] = card.querySelector('.variant__actions').children;
    const status = card.querySelector('.variant__copied');
    assert.equal(status.getAttribute('role'), 'status');
    copyHtml.click();
    await until(() => status.textContent === 'HTML copied.', 'the HTML is copied');
    copyLink.click();
    await until(() => status.textContent === 'Link copied.', 'the link is copied');
    assert.deepEqual(copied, [THUMB.picture, 'https://cdn.test/thumb.jpg']);
    globalThis.navigator = { clipboard: { writeText: async () => Promise.reject(new Error('denied')) } };
    copyHtml.click();
    await until(() => /could not be copied/.test(status.textContent), 'a refusal is said');
  } finally {
    delete globalThis.navigator;
  }
});

test('an animated size and each of its formats that animates are labelled animated; a still one is not', async () => {
  const still = { ...THUMB, name: 'large', animated: false, sources: THUMB.sources.map((s) => ({ ...s, animated: false })) };
  const moving = { ...THUMB, animated: true, sources: [{ ...THUMB.sources[0], animated: true }, { ...THUMB.sources[1], animated: false }] };
  const { api } = scriptedApi({ statuses: [{ status: 'done', variants: [still, moving], placeholder: null }] });
  const p = page({ api });
  p.uploads.addFiles([png('moving.gif')]);
  await until(() => p.statuses()[0] === 'done', 'the upload is done');
  const cards = p.rows()[0].querySelectorAll('.variant');
  const facts = cards.map((card) => card.querySelector('.variant__facts').textContent);
  assert.deepEqual(facts, ['128 × 96 px', '128 × 96 px · animated']);
  const formats = cards.map((card) =>
    card.querySelector('.variant__formats').children.map((item) => item.textContent.endsWith(' · animated')),
  );
  assert.deepEqual(formats, [[false, false], [true, false]]);
});
