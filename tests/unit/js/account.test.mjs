// The account section (web/js/account.js) over a fake document with the real session
// (auth.js) talking to a Cognito the test scripts: which form shows when, what each form
// sends, errors, the first-sign-in password, sign-up with confirmation, and sign-out.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startAccount } from '../../../web/js/account.js';
import { createSession } from '../../../web/js/auth.js';
import { createSessionScope } from '../../../web/js/session_scope.js';
import { element, fakeEvent, installDocument, until } from './fake_dom.mjs';
import { fakeStorage, token } from './fakes.mjs';

const NOW = 1_000_000_000_000;
const AUTH = { mode: 'cognito', endpoint: 'http://cognito.test/', clientId: 'client1', selfSignUp: true, passwordMinLength: 14 };

const signedIn = (email) => ({
  AuthenticationResult: { IdToken: token({ email, exp: NOW / 1000 + 3600 }), RefreshToken: 'r1', ExpiresIn: 3600 },
});

/** Cognito answering from a script: answers[target] is a list of [status, body] taken in order. */
function scriptedCognito(answers) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    const target = init.headers['X-Amz-Target'].split('.').pop();
    calls.push({ target, body: JSON.parse(init.body) });
    const [status, body] = (answers[target] || []).shift() || [200, {}];
    return { ok: status < 400, status, text: async () => JSON.stringify(body) };
  };
  return { calls, fetchImpl };
}

function form(document, id, inputs) {
  const fields = inputs.map((name) => element(document, 'input', { name }));
  return element(document, 'form', { id }, [...fields, element(document, 'button', { type: 'submit' })]);
}

function page(answers = {}, { auth = AUTH, storage = fakeStorage() } = {}) {
  const document = installDocument();
  const cognito = scriptedCognito(answers);
  const make = (tag) => document.createElement(tag);
  const elements = {
    section: element(document, 'section', { hidden: '' }),
    heading: make('h2'),
    intro: make('p'),
    error: make('div'),
    signInForm: form(document, 'sign-in-form', ['email', 'password']),
    newPasswordForm: form(document, 'new-password-form', ['password']),
    signUpForm: form(document, 'sign-up-form', ['email', 'password']),
    confirmForm: form(document, 'confirm-form', ['code']),
    confirmText: make('p'),
    showSignUp: make('button'),
    showSignIn: make('button'),
    signedIn: make('div'),
    signedInEmail: make('strong'),
    signOut: make('button'),
    passwordHints: [make('div'), make('div')],
  };
  const log = [];
  const gallery = { load: () => log.push('gallery.load'), show: (visible) => log.push(`gallery.show ${visible}`) };
  const uploads = { forgetAll: () => log.push('uploads.forgetAll') };
  const announced = [];
  const scope = createSessionScope();
  let account = null;
  const session = createSession(auth, {
    storage,
    fetchImpl: cognito.fetchImpl,
    now: () => NOW,
    setTimer: () => 1,
    clearTimer: () => {},
    onChange: (current, reason) => account.sessionChanged(current, reason),
  });
  const context = { config: { auth }, session, scope, announce: (message) => announced.push(message) };
  account = startAccount(context, elements, {
    gallery,
    uploads,
    setChoosing: (enabled) => log.push(`choosing ${enabled}`),
  });
  const shown = () =>
    ['signInForm', 'newPasswordForm', 'signUpForm', 'confirmForm', 'signedIn'].filter((name) => !elements[name].hidden);
  const fill = (formName, values) => {
    for (const [name, value] of Object.entries(values)) elements[formName].elements.namedItem(name).value = value;
  };
  const submit = (formName) => elements[formName].dispatchEvent(fakeEvent('submit'));
  return { document, elements, session, scope, log, announced, shown, fill, submit, cognito };
}

test('signed out at start: the sign-in form, choosing disabled, the password rule from the settings', () => {
  const p = page();
  assert.equal(p.elements.section.hidden, false);
  assert.deepEqual(p.shown(), ['signInForm']);
  assert.deepEqual(p.log, ['choosing false', 'gallery.show false']);
  assert.equal(p.elements.heading.textContent, 'Sign in');
  assert.equal(p.elements.showSignUp.hidden, false);
  assert.equal(
    p.elements.passwordHints[1].textContent,
    'At least 14 characters, with lower and upper case letters, a digit and a symbol.',
  );
  assert.equal(p.document.activeElement, p.elements.signInForm.querySelector('input'));
});

test('without self sign-up there is no "Create an account"', () => {
  const p = page({}, { auth: { ...AUTH, selfSignUp: false } });
  assert.equal(p.elements.showSignUp.hidden, true);
});

test('a session kept from before the reload starts signed in and lists the images', () => {
  const storage = fakeStorage();
  const idToken = token({ email: 'kept@example.com', exp: NOW / 1000 + 3600 });
  const kept = { idToken, refreshToken: 'r1', expiresAt: NOW + 3_600_000, email: 'kept@example.com' };
  storage.setItem('sip.session', JSON.stringify(kept));
  const p = page({}, { storage });
  assert.deepEqual(p.shown(), ['signedIn']);
  assert.equal(p.elements.signedInEmail.textContent, 'kept@example.com');
  assert.deepEqual(p.log, ['choosing true', 'gallery.show true', 'gallery.load']);
});

test('an empty sign-in form is refused before anything is sent', () => {
  const p = page();
  p.fill('signInForm', { email: '  ', password: 'x' });
  p.submit('signInForm');
  assert.equal(p.cognito.calls.length, 0);
  assert.equal(p.elements.error.hidden, false);
  assert.equal(p.elements.error.textContent, 'There is a problemEnter your email address and your password.');
});

test('signing in shows the account, enables choosing, resets the session scope and lists the images', async () => {
  const p = page({ InitiateAuth: [[200, signedIn('a@example.com')]] });
  let resets = 0;
  p.scope.onReset(() => (resets += 1));
  p.fill('signInForm', { email: ' a@example.com ', password: ' Secret-pass-1 ' });
  p.submit('signInForm');
  const button = p.elements.signInForm.querySelector('button');
  assert.equal(button.disabled, true, 'the form is busy while Cognito answers');
  await until(() => p.shown()[0] === 'signedIn', 'signed in');
  // The address is trimmed; the password is sent as typed.
  assert.deepEqual(p.cognito.calls[0].body.AuthParameters, { USERNAME: 'a@example.com', PASSWORD: ' Secret-pass-1 ' });
  assert.equal(resets, 1);
  assert.equal(p.elements.heading.textContent, 'Your account');
  assert.equal(p.elements.signedInEmail.textContent, 'a@example.com');
  assert.equal(p.elements.intro.hidden, true);
  assert.deepEqual(p.log.slice(-3), ['choosing true', 'gallery.show true', 'gallery.load']);
  assert.equal(p.announced.at(-1), 'Signed in as a@example.com.');
  await until(() => !button.disabled, 'the form is usable again');
  assert.equal(p.elements.signInForm.elements.namedItem('password').value, '', 'the form is reset');
});

test('a refused sign-in shows Cognito\'s reason in words and keeps the form', async () => {
  const p = page({ InitiateAuth: [[400, { __type: 'NotAuthorizedException', message: 'Incorrect username or password.' }]] });
  p.fill('signInForm', { email: 'a@example.com', password: 'wrong' });
  p.submit('signInForm');
  await until(() => !p.elements.error.hidden, 'the error shows');
  assert.match(p.elements.error.textContent, /^There is a problem/);
  assert.deepEqual(p.shown(), ['signInForm']);
  assert.equal(p.elements.signInForm.querySelector('button').disabled, false);
});

test('a first sign-in asks for a new password, then signs in', async () => {
  const challenge = { ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 'challenge-1' };
  const p = page({
    InitiateAuth: [[200, challenge]],
    RespondToAuthChallenge: [[200, signedIn('new@example.com')]],
  });
  p.fill('signInForm', { email: 'new@example.com', password: 'Temp-pass-1' });
  p.submit('signInForm');
  await until(() => p.shown()[0] === 'newPasswordForm', 'the new-password form shows');
  p.submit('newPasswordForm');
  assert.equal(p.elements.error.textContent, 'There is a problemEnter a new password.');
  p.fill('newPasswordForm', { password: 'Brand-new-pass-1' });
  p.submit('newPasswordForm');
  await until(() => p.shown()[0] === 'signedIn', 'signed in');
  const answer = p.cognito.calls[1];
  assert.equal(answer.target, 'RespondToAuthChallenge');
  assert.equal(answer.body.Session, 'challenge-1');
  assert.deepEqual(answer.body.ChallengeResponses, { USERNAME: 'new@example.com', NEW_PASSWORD: 'Brand-new-pass-1' });
});

test('signing up asks for the emailed code, then confirms and signs in with the chosen password', async () => {
  const p = page({ InitiateAuth: [[200, signedIn('b@example.com')]] });
  p.elements.showSignUp.click();
  assert.deepEqual(p.shown(), ['signUpForm']);
  assert.equal(p.elements.heading.textContent, 'Create an account');
  p.fill('signUpForm', { email: 'b@example.com', password: 'Chosen-pass-12' });
  p.submit('signUpForm');
  await until(() => p.shown()[0] === 'confirmForm', 'the confirmation form shows');
  assert.equal(p.elements.confirmText.textContent, 'We emailed a confirmation code to b@example.com. Enter it below.');
  assert.equal(p.elements.heading.textContent, 'Confirm your email address');
  p.fill('confirmForm', { code: ' 123456 ' });
  p.submit('confirmForm');
  await until(() => p.shown()[0] === 'signedIn', 'signed in');
  assert.deepEqual(
    p.cognito.calls.map((c) => c.target),
    ['SignUp', 'ConfirmSignUp', 'InitiateAuth'],
  );
  assert.equal(p.cognito.calls[1].body.ConfirmationCode, '123456');
  assert.equal(p.cognito.calls[2].body.AuthParameters.PASSWORD, 'Chosen-pass-12');

  p.elements.showSignIn.click(); // the link back works from any form
  assert.deepEqual(p.shown(), ['signInForm']);
  assert.equal(p.elements.heading.textContent, 'Sign in');
});

test('signing out drops the file list, revokes the token and shows the sign-in form', async () => {
  const p = page({ InitiateAuth: [[200, signedIn('a@example.com')]] });
  p.fill('signInForm', { email: 'a@example.com', password: 'Secret-pass-1' });
  p.submit('signInForm');
  await until(() => p.shown()[0] === 'signedIn', 'signed in');
  p.elements.signOut.click();
  assert.deepEqual(p.log.slice(-3), ['uploads.forgetAll', 'choosing false', 'gallery.show false']);
  assert.deepEqual(p.shown(), ['signInForm']);
  assert.equal(p.announced.at(-1), 'You are signed out.');
  assert.equal(p.elements.error.hidden, true, 'no error for a chosen sign-out');
  await until(() => p.cognito.calls.some((c) => c.target === 'RevokeToken'), 'the token is revoked');
});

test('a token refresh changes nothing on the page (same session, same listing)', async () => {
  const p = page({ InitiateAuth: [[200, signedIn('a@example.com')], [200, signedIn('a@example.com')]] });
  let resets = 0;
  p.scope.onReset(() => (resets += 1));
  p.fill('signInForm', { email: 'a@example.com', password: 'Secret-pass-1' });
  p.submit('signInForm');
  await until(() => p.shown()[0] === 'signedIn', 'signed in');
  const [logged, announced] = [p.log.length, p.announced.length];
  await p.session.refresh();
  assert.equal(p.cognito.calls.at(-1).body.AuthFlow, 'REFRESH_TOKEN_AUTH');
  assert.equal(resets, 1, 'only the sign-in reset the scope');
  assert.equal(p.log.length, logged);
  assert.equal(p.announced.length, announced);
});

test('a session that ends by itself says why', async () => {
  const p = page({ InitiateAuth: [[200, signedIn('a@example.com')]] });
  p.fill('signInForm', { email: 'a@example.com', password: 'Secret-pass-1' });
  p.submit('signInForm');
  await until(() => p.shown()[0] === 'signedIn', 'signed in');
  p.session.expired(); // the API answered 401
  assert.deepEqual(p.shown(), ['signInForm']);
  assert.equal(p.elements.error.textContent, 'You are signed outYour session has ended. Sign in again.');
  assert.equal(p.announced.at(-1), 'Your session has ended. Sign in again.');
});
