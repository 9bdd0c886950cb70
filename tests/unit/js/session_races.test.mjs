// Races between sign-out and work still in flight (web/js/auth.js, web/js/session_scope.js).
// Every network answer here is a promise the test resolves by hand, so each interleaving is
// exact: no timers, no sleeps.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createSession } from '../../../web/js/auth.js';
import { createGalleryLoader, createSessionScope } from '../../../web/js/session_scope.js';
import { deferred, fakeStorage, token } from './fakes.mjs';

const SETTINGS = { endpoint: 'http://cognito.test/', clientId: 'client1' };
const NOW = 1_000_000_000_000;

/** Let every already-settled promise run its callbacks. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A Cognito whose every answer waits until the test releases it: calls[i].answer(status, body). */
function heldCognito() {
  const calls = [];
  const fetchImpl = (url, init) => {
    const gate = deferred();
    calls.push({
      target: init.headers['X-Amz-Target'].split('.').pop(),
      body: JSON.parse(init.body),
      answer: (status, body) => gate.resolve({ ok: status < 400, status, text: async () => JSON.stringify(body) }),
    });
    return gate.promise;
  };
  return { calls, fetchImpl };
}

const timers = { now: () => NOW, setTimer: () => 1, clearTimer: () => {} };
const SIGNED_IN = { idToken: 'old', refreshToken: 'r1', expiresAt: NOW + 10_000, email: 'a@example.com' };
const fresh = (email = 'a@example.com') => ({
  AuthenticationResult: { IdToken: token({ email, exp: NOW / 1000 + 3600 }), ExpiresIn: 3600 },
});

test('a refresh answered after sign-out is discarded: nothing is stored for the next reload', async () => {
  const storage = fakeStorage({ 'sip.session': JSON.stringify(SIGNED_IN) });
  const cognito = heldCognito();
  const changes = [];
  const session = createSession(SETTINGS, {
    storage,
    fetchImpl: cognito.fetchImpl,
    ...timers,
    onChange: (current, reason) => changes.push([reason, current && current.email]),
  });
  const refreshing = session.refresh();
  const signingOut = session.signOut();
  assert.deepEqual(storage.data, {});
  cognito.calls[0].answer(200, fresh()); // the refresh started before the sign-out
  cognito.calls[1].answer(200, {}); // RevokeToken
  await assert.rejects(refreshing, { code: 'expired' });
  await signingOut;
  await settle();
  assert.deepEqual(storage.data, {}, 'a late refresh must not bring the session back on reload');
  assert.equal(session.current, null);
  assert.deepEqual(changes, [['signed-out', null]]);
  // What a reload does: a new session over the same storage is signed out.
  assert.equal(createSession(SETTINGS, { storage, ...timers }).current, null);
});

test('a refresh failing after sign-out and a new sign-in does not end the new session', async () => {
  const storage = fakeStorage({ 'sip.session': JSON.stringify(SIGNED_IN) });
  const cognito = heldCognito();
  const session = createSession(SETTINGS, { storage, fetchImpl: cognito.fetchImpl, ...timers });
  const refreshing = session.refresh();
  session.signOut();
  cognito.calls[1].answer(200, {}); // RevokeToken
  const signingIn = session.signIn('b@example.com', 'pw');
  cognito.calls[2].answer(200, { AuthenticationResult: { ...fresh('b@example.com').AuthenticationResult, RefreshToken: 'r2' } });
  await signingIn;
  cognito.calls[0].answer(400, { __type: 'NotAuthorizedException', message: 'Refresh Token has been revoked' });
  await assert.rejects(refreshing);
  await settle();
  assert.equal(session.current.email, 'b@example.com');
  assert.equal(JSON.parse(storage.data['sip.session']).refreshToken, 'r2');
});

test('a sign-in answered after a sign-out is discarded', async () => {
  const storage = fakeStorage({ 'sip.session': JSON.stringify(SIGNED_IN) });
  const cognito = heldCognito();
  const session = createSession(SETTINGS, { storage, fetchImpl: cognito.fetchImpl, ...timers });
  const signingIn = session.signIn('b@example.com', 'pw');
  session.signOut(); // before Cognito answers the sign-in
  cognito.calls[0].answer(200, { AuthenticationResult: { ...fresh('b@example.com').AuthenticationResult, RefreshToken: 'r2' } });
  cognito.calls[1].answer(200, {}); // RevokeToken
  await assert.rejects(signingIn, { code: 'expired' });
  assert.equal(session.current, null);
  assert.deepEqual(storage.data, {});
});

test('the refresh of a new session is its own, not the old one still in flight', async () => {
  const storage = fakeStorage({ 'sip.session': JSON.stringify(SIGNED_IN) });
  const cognito = heldCognito();
  const session = createSession(SETTINGS, { storage, fetchImpl: cognito.fetchImpl, ...timers });
  const old = session.refresh();
  session.signOut();
  cognito.calls[1].answer(200, {});
  const signingIn = session.signIn('b@example.com', 'pw');
  cognito.calls[2].answer(200, { AuthenticationResult: { ...fresh('b@example.com').AuthenticationResult, RefreshToken: 'r2' } });
  await signingIn;
  const mine = session.refresh();
  assert.notEqual(mine, old);
  assert.equal(cognito.calls[3].body.AuthParameters.REFRESH_TOKEN, 'r2');
  cognito.calls[3].answer(200, fresh('b@example.com'));
  assert.equal((await mine).email, 'b@example.com');
  cognito.calls[0].answer(200, fresh('a@example.com'));
  await assert.rejects(old);
  assert.equal(session.current.email, 'b@example.com');
});

// ---- the gallery ("My images") ---------------------------------------------------------------

function galleryHarness() {
  const scope = createSessionScope();
  const requests = [];
  const drawn = [];
  const failures = [];
  const loader = createGalleryLoader({
    scope,
    list: ({ cursor, signal }) => {
      const answer = deferred();
      requests.push({ cursor, signal, answer });
      return answer.promise;
    },
    draw: (uploads, { more, hasMore }) => drawn.push({ ids: uploads.map((u) => u.id), more, hasMore }),
    failed: (error) => failures.push(error),
  });
  return { scope, loader, requests, drawn, failures };
}

test('a gallery listing answered after sign-out is never drawn, nor for the next user', async () => {
  const { scope, loader, requests, drawn } = galleryHarness();
  const aliceLoad = loader.load();
  scope.reset(); // Alice signs out...
  assert.equal(requests[0].signal.aborted, true, 'the listing in flight is cancelled');
  const bobLoad = loader.load(); // ...and Bob signs in: his own listing, not Alice's
  assert.equal(requests.length, 2);
  requests[0].answer.resolve({ uploads: [{ id: 'alice-1' }], nextCursor: 'alice-page-2' });
  await aliceLoad;
  assert.deepEqual(drawn, []);
  requests[1].answer.resolve({ uploads: [{ id: 'bob-1' }], nextCursor: null });
  await bobLoad;
  assert.deepEqual(drawn, [{ ids: ['bob-1'], more: false, hasMore: false }]);
  assert.equal(loader.cursor, null);
});

test('sign-out resets the cursor: the next user never pages through the previous list', async () => {
  const { scope, loader, requests } = galleryHarness();
  const first = loader.load();
  requests[0].answer.resolve({ uploads: [{ id: 'alice-1' }], nextCursor: 'alice-page-2' });
  await first;
  assert.equal(loader.cursor, 'alice-page-2');
  scope.reset();
  assert.equal(loader.cursor, null);
  loader.load({ more: true });
  assert.equal(requests[1].cursor, null);
});

test('a listing that fails after sign-out reports nothing (no 401 ends the next session)', async () => {
  const { scope, loader, requests, failures } = galleryHarness();
  const load = loader.load();
  scope.reset();
  requests[0].answer.reject(Object.assign(new Error('Your session has ended.'), { status: 401 }));
  await load;
  assert.deepEqual(failures, []);
});

test('within one session loads share the listing in flight and "more" continues the cursor', async () => {
  const { loader, requests, drawn, failures } = galleryHarness();
  const a = loader.load();
  assert.equal(loader.load(), a);
  requests[0].answer.resolve({ uploads: [{ id: '1' }], nextCursor: 'c2' });
  await a;
  const b = loader.load({ more: true });
  assert.equal(requests[1].cursor, 'c2');
  requests[1].answer.reject(new Error('offline'));
  await b;
  assert.deepEqual(drawn, [{ ids: ['1'], more: false, hasMore: true }]);
  assert.equal(failures[0].message, 'offline');
});
