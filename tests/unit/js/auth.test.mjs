// Sign-in on the page (web/js/auth.js) over a fake Cognito and a fake sessionStorage.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createSession, decodeClaims, friendlyError, refreshDelayMs } from '../../../web/js/auth.js';
import { parseAuth } from '../../../web/js/validate.js';
import { fakeStorage, token } from './fakes.mjs';

const SETTINGS = { endpoint: 'http://cognito.test/', clientId: 'client1' };

function fakeCognito(handlers) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    const target = init.headers['X-Amz-Target'].split('.').pop();
    const body = JSON.parse(init.body);
    calls.push({ url, target, body, credentials: init.credentials });
    const [status, answer] = handlers[target](body);
    return { ok: status < 400, status, text: async () => JSON.stringify(answer) };
  };
  return { calls, fetchImpl };
}

function clock(start = 1_000_000_000_000) {
  const state = { now: start, timers: [] };
  return {
    state,
    now: () => state.now,
    setTimer: (fn, ms) => {
      state.timers.push({ fn, at: state.now + ms });
      return state.timers.length;
    },
    clearTimer: () => {},
  };
}

const nowSeconds = (c) => Math.floor(c.state.now / 1000);

test('sign-in keeps the tokens in session storage and schedules a refresh', async () => {
  const c = clock();
  const storage = fakeStorage();
  const id = token({ email: 'a@example.com', exp: nowSeconds(c) + 3600 });
  const cognito = fakeCognito({
    InitiateAuth: () => [200, { AuthenticationResult: { IdToken: id, RefreshToken: 'r1', ExpiresIn: 3600 } }],
  });
  const changes = [];
  const session = createSession(SETTINGS, { storage, fetchImpl: cognito.fetchImpl, ...c, onChange: (s, r) => changes.push(r) });
  await session.signIn('a@example.com', 'pw');
  assert.equal(cognito.calls[0].body.AuthFlow, 'USER_PASSWORD_AUTH');
  assert.equal(cognito.calls[0].credentials, 'omit');
  assert.equal(session.current.email, 'a@example.com');
  assert.equal(JSON.parse(storage.data['sip.session']).idToken, id);
  assert.deepEqual(changes, ['signed-in']);
  assert.equal(c.state.timers.length, 1);
  assert.equal(c.state.timers[0].at, c.state.now + 55 * 60 * 1000); // 5 minutes before expiry
  assert.equal(await session.idToken(), id);
});

test('the silent refresh replaces the ID token and keeps the refresh token', async () => {
  const c = clock();
  const first = token({ exp: nowSeconds(c) + 600 });
  const second = token({ exp: nowSeconds(c) + 4200 });
  const cognito = fakeCognito({
    InitiateAuth: (body) =>
      body.AuthFlow === 'REFRESH_TOKEN_AUTH'
        ? [200, { AuthenticationResult: { IdToken: second, ExpiresIn: 3600 } }]
        : [200, { AuthenticationResult: { IdToken: first, RefreshToken: 'r1' } }],
  });
  const session = createSession(SETTINGS, { storage: fakeStorage(), fetchImpl: cognito.fetchImpl, ...c });
  await session.signIn('a@example.com', 'pw');
  c.state.now += 300 * 1000;
  c.state.timers[0].fn();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(cognito.calls[1].body.AuthParameters.REFRESH_TOKEN, 'r1');
  assert.equal(session.current.idToken, second);
  assert.equal(session.current.refreshToken, 'r1');
});

test('an expired token is refreshed before use; a failed refresh signs out with a reason', async () => {
  const c = clock();
  const cognito = fakeCognito({
    InitiateAuth: (body) =>
      body.AuthFlow === 'REFRESH_TOKEN_AUTH'
        ? [400, { __type: 'NotAuthorizedException', message: 'Refresh Token has expired' }]
        : [200, { AuthenticationResult: { IdToken: token({ exp: nowSeconds(c) + 60 }), RefreshToken: 'r1' } }],
  });
  const reasons = [];
  const storage = fakeStorage();
  const session = createSession(SETTINGS, { storage, fetchImpl: cognito.fetchImpl, ...c, onChange: (s, r) => reasons.push(r) });
  await session.signIn('a@example.com', 'pw');
  c.state.now += 45 * 1000;
  await assert.rejects(session.idToken());
  assert.equal(session.current, null);
  assert.equal(storage.data['sip.session'], undefined);
  assert.equal(reasons.at(-1), 'Your session has ended. Sign in again.');
});

test('a first sign-in of an operator-created user asks for a new password', async () => {
  const c = clock();
  const cognito = fakeCognito({
    InitiateAuth: () => [200, { ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 's1' }],
    RespondToAuthChallenge: (body) => {
      assert.equal(body.ChallengeResponses.NEW_PASSWORD, 'New-pass-123!');
      assert.equal(body.Session, 's1');
      return [200, { AuthenticationResult: { IdToken: token({ exp: nowSeconds(c) + 3600 }), RefreshToken: 'r' } }];
    },
  });
  const session = createSession(SETTINGS, { storage: fakeStorage(), fetchImpl: cognito.fetchImpl, ...c });
  const result = await session.signIn('new@example.com', 'temporary');
  assert.equal(result.challenge, 'NEW_PASSWORD_REQUIRED');
  assert.equal(session.current, null);
  await session.setNewPassword(result, 'New-pass-123!');
  assert.ok(session.current);
});

test('sign-out forgets the tokens and revokes the refresh token', async () => {
  const c = clock();
  const cognito = fakeCognito({
    InitiateAuth: () => [200, { AuthenticationResult: { IdToken: token({ exp: nowSeconds(c) + 3600 }), RefreshToken: 'r9' } }],
    RevokeToken: () => [200, {}],
  });
  const storage = fakeStorage();
  const session = createSession(SETTINGS, { storage, fetchImpl: cognito.fetchImpl, ...c });
  await session.signIn('a@example.com', 'pw');
  await session.signOut();
  assert.equal(session.current, null);
  assert.deepEqual(storage.data, {});
  assert.equal(cognito.calls.at(-1).target, 'RevokeToken');
  assert.equal(cognito.calls.at(-1).body.Token, 'r9');
});

test('a session survives a reload of the tab (session storage), not a new tab', () => {
  const c = clock();
  const storage = fakeStorage();
  storage.setItem('sip.session', JSON.stringify({ idToken: 't', refreshToken: 'r', expiresAt: c.state.now + 1000, email: 'e' }));
  assert.equal(createSession(SETTINGS, { storage, ...c }).current.email, 'e');
  assert.equal(createSession(SETTINGS, { storage: fakeStorage(), ...c }).current, null);
});

test('Cognito errors become clear sentences', () => {
  assert.equal(friendlyError('NotAuthorizedException', 'Incorrect username or password.'), 'Incorrect email address or password.');
  assert.match(friendlyError('NotAuthorizedException', 'User is disabled.'), /disabled/);
  assert.match(friendlyError('InvalidPasswordException', 'Password does not conform to policy: Password must have symbol characters'), /^Choose a stronger password: Password must have symbol/);
  assert.match(friendlyError('com.amazon#UsernameExistsException'), /already exists/);
  assert.match(friendlyError('SomethingNew'), /Try again/);
});

test('errors from Cognito reject with the sentence', async () => {
  const cognito = fakeCognito({ InitiateAuth: () => [400, { __type: 'NotAuthorizedException', message: 'x' }] });
  const session = createSession(SETTINGS, { storage: fakeStorage(), fetchImpl: cognito.fetchImpl, ...clock() });
  await assert.rejects(session.signIn('a@example.com', 'bad'), { message: 'Incorrect email address or password.' });
  const offline = createSession(SETTINGS, { storage: fakeStorage(), fetchImpl: async () => { throw new TypeError('fail'); }, ...clock() });
  await assert.rejects(offline.signIn('a@example.com', 'pw'), { code: 'network' });
});

test('claims and refresh delays', () => {
  assert.deepEqual(decodeClaims(token({ sub: 'é', exp: 5 })), { sub: 'é', exp: 5 });
  assert.deepEqual(decodeClaims('garbage'), {});
  assert.equal(refreshDelayMs(3_600_000, 0), 3_300_000);
  assert.equal(refreshDelayMs(60_000, 0), 30_000);
  assert.equal(refreshDelayMs(5_000, 0), 10_000);
});

test('config.json auth settings', () => {
  const problems = [];
  assert.equal(parseAuth(undefined, problems).mode, 'none');
  assert.equal(parseAuth({ mode: 'none', clientId: null }, problems).mode, 'none');
  const auth = parseAuth({ mode: 'cognito', endpoint: 'http://127.0.0.1:5566/', clientId: 'abc123', selfSignUp: true, passwordMinLength: 14 }, problems);
  assert.deepEqual(problems, []);
  assert.equal(auth.selfSignUp, true);
  assert.equal(auth.passwordMinLength, 14);
  parseAuth({ mode: 'cognito', endpoint: 'javascript:alert(1)', clientId: '' }, problems);
  assert.equal(problems.length, 2);
  parseAuth({ mode: 'ldap' }, problems);
  assert.equal(problems.length, 3);
});
