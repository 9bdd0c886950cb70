// The browser's upload history (web/js/history.js) over a fake localStorage.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createHistory } from '../../../web/js/history.js';
import { fakeStorage } from './fakes.mjs';

const A = { id: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f', name: 'a.jpg', size: 10, contentType: 'image/jpeg', at: 1 };
const B = { ...A, id: '9f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f', name: 'b.png', at: 2 };

test('remembers newest first, once per id, and survives a new history over the same storage', () => {
  const storage = fakeStorage();
  const history = createHistory(storage);
  history.remember(A);
  history.remember(B);
  history.remember({ ...A, at: 3 });
  assert.deepEqual(createHistory(storage).list().map((e) => [e.name, e.at]), [['a.jpg', 3], ['b.png', 2]]);
});

test('forgets one or all', () => {
  const history = createHistory(fakeStorage());
  history.remember(A);
  history.remember(B);
  history.forget(A.id);
  assert.deepEqual(history.list().map((e) => e.id), [B.id]);
  history.forgetAll();
  assert.deepEqual(history.list(), []);
});

test('keeps at most maxEntries', () => {
  const history = createHistory(fakeStorage(), { maxEntries: 2 });
  for (const n of [1, 2, 3]) history.remember({ ...A, id: `${n}f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f`, at: n });
  assert.deepEqual(history.list().map((e) => e.at), [3, 2]);
});

test('garbage, foreign ids and broken storage never break it', () => {
  assert.deepEqual(createHistory(fakeStorage({ 'sip.uploads.v1': '{not json' })).list(), []);
  const mixed = JSON.stringify([A, { id: '../etc/passwd', name: 'x', size: 1, contentType: 'x', at: 1 }, 42]);
  assert.deepEqual(createHistory(fakeStorage({ 'sip.uploads.v1': mixed })).list(), [A]);
  const broken = { getItem: () => { throw new Error('blocked'); }, setItem: () => { throw new Error('full'); } };
  const history = createHistory(broken);
  history.remember(A);
  assert.deepEqual(history.list(), []);
  const refused = createHistory(fakeStorage());
  refused.remember({ ...A, id: 'not-an-id' });
  assert.deepEqual(refused.list(), []);
});
