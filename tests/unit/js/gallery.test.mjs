// "My images" (web/js/gallery.js) over a fake document: pages drawn and extended, the summary,
// Delete with its focus move, a 401 that ends the session, and a listing answered after the
// session changed (session_scope.js) that is never drawn. The API is answered by the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { animationOf } from '../../../web/js/api.js';
import { createClient } from '../../../web/js/client.js';
import { animationLabel, createGallery, galleryImage } from '../../../web/js/gallery.js';
import { createSessionScope } from '../../../web/js/session_scope.js';
import { installDocument, until } from './fake_dom.mjs';
import { deferred } from './fakes.mjs';

const ID1 = '11111111-1111-4111-8111-111111111111';
const ID2 = '22222222-2222-4222-8222-222222222222';
const ID3 = '33333333-3333-4333-8333-333333333333';

const variant = (width) => ({
  name: `w${width}`,
  width,
  height: width,
  sources: [
    { format: 'avif', type: 'image/avif', bytes: 10, url: `https://cdn.test/${width}.avif` },
    { format: 'webp', type: 'image/webp', bytes: 20, url: `https://cdn.test/${width}.webp` },
  ],
});
const upload = (id, fields = {}) => ({
  id,
  fileName: `${id.slice(0, 1)}.png`,
  status: 'done',
  variants: [variant(128), variant(1024), variant(256)],
  bytes: 2048,
  createdAt: '2026-01-02T03:04:05Z',
  ...fields,
});

/** A signed-in session as the page uses it (auth.js): current, idToken(), expired(). */
function fakeSession() {
  const session = {
    current: { email: 'a@example.com' },
    expiredCalls: 0,
    idToken: async () => 'token-1',
    expired: () => {
      session.expiredCalls += 1;
      session.current = null;
    },
  };
  return session;
}

/** Every listing and delete waits until the test answers it: calls[i].answer / .fail. */
function heldApi() {
  const calls = [];
  const hold = (entry) => {
    const gate = deferred();
    calls.push({ ...entry, answer: gate.resolve, fail: gate.reject });
    return gate.promise;
  };
  return {
    calls,
    api: {
      listUploads: (apiUrl, options) => hold({ kind: 'list', options }),
      deleteUpload: (apiUrl, id, options) => hold({ kind: 'delete', id, options }),
    },
  };
}

function page() {
  const document = installDocument();
  const session = fakeSession();
  const scope = createSessionScope();
  const held = heldApi();
  const announced = [];
  const deleted = [];
  const make = (tag) => document.createElement(tag);
  const elements = {
    section: make('section'),
    list: make('ul'),
    summary: make('p'),
    more: make('button'),
    refresh: make('button'),
    errorBox: make('div'),
  };
  const context = {
    session,
    scope,
    client: createClient({ apiUrl: 'http://api.test', session, api: held.api }),
    announce: (message) => announced.push(message),
  };
  const gallery = createGallery(context, elements, { onDeleted: (id) => deleted.push(id) });
  const names = () => elements.list.children.map((item) => item.querySelector('.gallery__name').textContent);
  return { document, session, scope, gallery, elements, announced, deleted, names, ...held };
}

test('galleryImage takes the smallest size at least 200 px wide, else the largest', () => {
  assert.equal(galleryImage(upload(ID1)).width, 256);
  assert.equal(galleryImage(upload(ID1, { variants: [variant(64), variant(128)] })).width, 128);
  assert.equal(galleryImage(upload(ID1, { variants: [] })), null);
});

test('a page is drawn with its token and limit; "More" appends the next page', async () => {
  const p = page();
  const first = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  assert.equal(p.calls[0].options.token, 'token-1');
  assert.equal(p.calls[0].options.limit, 12);
  assert.equal(p.calls[0].options.cursor, null);
  p.calls[0].answer({ uploads: [upload(ID1), upload(ID2, { status: 'processing', variants: [] })], nextCursor: 'c2' });
  await first;
  assert.deepEqual(p.names(), ['1.png', '2.png']);
  const [done, processing] = p.elements.list.children;
  assert.equal(done.querySelector('img').getAttribute('src'), 'https://cdn.test/256.webp');
  assert.equal(done.querySelector('source').getAttribute('srcset'), 'https://cdn.test/256.avif');
  assert.equal(done.querySelector('img').getAttribute('loading'), 'lazy');
  assert.equal(processing.querySelector('.gallery__placeholder').textContent, 'Still processing');
  assert.equal(p.elements.summary.textContent, '2 images so far.');
  assert.equal(p.elements.more.hidden, false);

  p.elements.more.click();
  await until(() => p.calls.length === 2, 'the next page is asked for');
  assert.equal(p.calls[1].options.cursor, 'c2');
  p.calls[1].answer({ uploads: [upload(ID3)], nextCursor: null });
  await until(() => p.names().length === 3, 'the next page is appended');
  assert.equal(p.elements.summary.textContent, '3 images.');
  assert.equal(p.elements.more.hidden, true);
});

test('an empty listing says so', async () => {
  const p = page();
  const loading = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  p.calls[0].answer({ uploads: [], nextCursor: null });
  await loading;
  assert.equal(p.elements.summary.textContent, 'You have not uploaded any images yet.');
});

test('a listing refused with 401 ends the session; other failures are shown', async () => {
  const p = page();
  const failing = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  p.calls[0].fail(Object.assign(new Error('Service unavailable.'), { status: 503 }));
  await failing;
  assert.equal(p.elements.summary.textContent, 'Your images could not be listed. Service unavailable.');
  assert.equal(p.session.expiredCalls, 0);

  p.elements.refresh.click();
  await until(() => p.calls.length === 2, 'the refresh starts');
  p.calls[1].fail(Object.assign(new Error('Sign in again.'), { status: 401 }));
  await until(() => p.session.expiredCalls === 1, 'the session ends');
  assert.equal(p.elements.summary.textContent, 'Your images could not be listed. Service unavailable.', 'not redrawn once signed out');
});

test('a listing answered after the session changed is not drawn and ends nothing', async () => {
  const p = page();
  const loading = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  assert.equal(p.calls[0].options.signal.aborted, false);
  p.scope.reset(); // signed out and in again meanwhile
  assert.equal(p.calls[0].options.signal.aborted, true);
  p.calls[0].fail(Object.assign(new Error('Sign in again.'), { status: 401 }));
  await loading;
  assert.equal(p.session.expiredCalls, 0);
  assert.equal(p.elements.summary.textContent, '');
});

test('nothing is listed without a signed-in user', async () => {
  const p = page();
  p.session.current = null;
  await p.gallery.load();
  assert.equal(p.calls.length, 0);
});

test('Delete removes the image, tells the file list, announces it and moves focus to the next one', async () => {
  const p = page();
  const loading = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  p.calls[0].answer({ uploads: [upload(ID1), upload(ID2)], nextCursor: null });
  await loading;
  const button = p.elements.list.children[0].querySelector('button');
  assert.equal(button.getAttribute('aria-label'), 'Delete 1.png');
  button.click();
  assert.equal(button.disabled, true);
  await until(() => p.calls.length === 2, 'the delete starts');
  assert.equal(p.calls[1].id, ID1);
  p.calls[1].answer(undefined);
  await until(() => p.deleted.length === 1, 'the delete finishes');
  assert.deepEqual(p.deleted, [ID1]);
  assert.deepEqual(p.names(), ['2.png']);
  assert.equal(p.elements.summary.textContent, '1 image.');
  assert.equal(p.announced.at(-1), '1.png deleted, with all its sizes.');
  assert.equal(p.document.activeElement, p.elements.list.children[0].querySelector('button'));

  p.elements.list.children[0].querySelector('button').click();
  await until(() => p.calls.length === 3, 'the second delete starts');
  p.calls[2].answer(undefined);
  await until(() => p.deleted.length === 2, 'the last image is deleted');
  assert.equal(p.document.activeElement, p.elements.refresh, 'focus goes to Refresh when none is left');
});

test('a failed Delete keeps the image, shows why and re-enables the button; a 401 ends the session', async () => {
  const p = page();
  const loading = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  p.calls[0].answer({ uploads: [upload(ID1)], nextCursor: null });
  await loading;
  const button = p.elements.list.children[0].querySelector('button');
  button.click();
  await until(() => p.calls.length === 2, 'the delete starts');
  p.calls[1].fail(Object.assign(new Error('Sign in again.'), { status: 401 }));
  await until(() => !button.disabled, 'the button comes back');
  assert.deepEqual(p.names(), ['1.png']);
  assert.equal(p.elements.errorBox.hidden, false);
  assert.equal(p.elements.errorBox.textContent, '1.png could not be deletedSign in again.');
  assert.equal(p.session.expiredCalls, 1);
  assert.deepEqual(p.deleted, []);
});

test('hiding the section (signed out) empties it', async () => {
  const p = page();
  const loading = p.gallery.load();
  await until(() => p.calls.length === 1, 'the listing starts');
  p.calls[0].answer({ uploads: [upload(ID1)], nextCursor: 'c2' });
  await loading;
  p.gallery.show(false);
  assert.equal(p.elements.section.hidden, true);
  assert.equal(p.elements.list.children.length, 0);
  assert.equal(p.elements.summary.textContent, '');
  assert.equal(p.elements.more.hidden, true);
  p.gallery.show(true);
  assert.equal(p.elements.section.hidden, false);
});

test('an animated upload shows an animated size and says it is animated', () => {
  const moving = { ...variant(640), name: 'large', animated: true };
  const still = variant(512);
  const animated = upload(ID1, {
    variants: [still, { ...variant(128), animated: true }, moving],
    animation: { frames: 12, durationMs: 2450, loop: 0 },
  });
  assert.equal(galleryImage(animated), moving); // not the smaller still size
  assert.equal(galleryImage(upload(ID1, { variants: [still, variant(128)] })), still);
  assert.equal(animationLabel(animated.animation), 'Animated, 12 frames, 2.5 s');
});

test('the animation the API reports is checked before use', () => {
  assert.deepEqual(animationOf({ frames: 12, durationMs: 2450, loop: 0 }), { frames: 12, durationMs: 2450, loop: 0 });
  assert.equal(animationOf(null), null);
  assert.equal(animationOf({ frames: 1, durationMs: 100, loop: 0 }), null); // one frame: a still
  assert.equal(animationOf({ frames: '<b>', durationMs: 100, loop: 0 }), null);
});
