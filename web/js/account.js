// The account section (with sign-in, config.json auth.mode "cognito"): the sign-in,
// new-password, sign-up and confirmation forms, "Signed in as" and Sign out. It draws what the
// session says (sessionChanged) and drives the session from the forms; the gallery and the
// file list are handed in, never imported. Everything else comes in the context (main.js).
import { showPageError } from './ui.js';

function fieldValue(form, name) {
  const field = form.elements.namedItem(name);
  return field ? String(field.value || '').trim() : '';
}

/**
 * context: {config, session, scope, announce} (see main.js).
 * elements: {section, heading, intro, error, signInForm, newPasswordForm, signUpForm,
 *   confirmForm, confirmText, showSignUp, showSignIn, signedIn, signedInEmail, signOut,
 *   passwordHints}.
 * features: {gallery, uploads, setChoosing(enabled)}.
 * Returns {sessionChanged(current, reason)}: pass it the session's onChange.
 */
export function startAccount(context, elements, { gallery, uploads, setChoosing }) {
  const { config, session, scope, announce } = context;
  const auth = config.auth;
  const forms = [elements.signInForm, elements.newPasswordForm, elements.signUpForm, elements.confirmForm];
  let pendingChallenge = null;
  let pendingSignUp = null;

  function showForm(form) {
    for (const candidate of forms) candidate.hidden = candidate !== form;
    elements.signedIn.hidden = form !== null;
    if (form) {
      const first = form.querySelector('input');
      if (first) first.focus();
    }
  }

  function failed(error) {
    showPageError(elements.error, 'There is a problem', error.message || 'Signing in failed.');
  }

  function clearError() {
    elements.error.hidden = true;
    elements.error.replaceChildren();
  }

  function render(current, reason) {
    const signedIn = Boolean(current);
    setChoosing(signedIn);
    gallery.show(signedIn);
    elements.intro.hidden = signedIn;
    if (signedIn) {
      elements.heading.textContent = 'Your account';
      elements.signedInEmail.textContent = current.email || 'your account';
      showForm(null);
      clearError();
    } else {
      elements.heading.textContent = 'Sign in';
      showForm(elements.signInForm);
      if (reason && reason !== 'signed-out') {
        showPageError(elements.error, 'You are signed out', reason);
      }
    }
  }

  async function submitting(form, work) {
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => (b.disabled = true));
    clearError();
    try {
      await work();
    } catch (error) {
      failed(error);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  function sessionChanged(current, reason) {
    if (reason === 'refreshed') return;
    scope.reset(); // a listing of the previous session is aborted and never drawn
    render(current, reason);
    if (current) {
      announce(`Signed in as ${current.email}.`);
      gallery.load();
    } else {
      announce(reason && reason !== 'signed-out' ? reason : 'You are signed out.');
    }
  }

  elements.section.hidden = false;
  const rule = `At least ${auth.passwordMinLength || 12} characters, with lower and upper case letters, a digit and a symbol.`;
  for (const hint of elements.passwordHints) hint.textContent = rule;
  elements.showSignUp.hidden = !auth.selfSignUp;

  elements.signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = fieldValue(elements.signInForm, 'email');
    const password = elements.signInForm.elements.namedItem('password').value;
    if (!email || !password) {
      failed(new Error('Enter your email address and your password.'));
      return;
    }
    submitting(elements.signInForm, async () => {
      const result = await session.signIn(email, password);
      elements.signInForm.reset();
      if (result.challenge) {
        pendingChallenge = result;
        showForm(elements.newPasswordForm);
      }
    });
  });
  elements.newPasswordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const password = elements.newPasswordForm.elements.namedItem('password').value;
    if (!password) {
      failed(new Error('Enter a new password.'));
      return;
    }
    submitting(elements.newPasswordForm, async () => {
      await session.setNewPassword(pendingChallenge, password);
      pendingChallenge = null;
      elements.newPasswordForm.reset();
    });
  });
  elements.showSignUp.addEventListener('click', () => {
    clearError();
    elements.heading.textContent = 'Create an account';
    showForm(elements.signUpForm);
  });
  elements.showSignIn.addEventListener('click', () => {
    clearError();
    elements.heading.textContent = 'Sign in';
    showForm(elements.signInForm);
  });
  elements.signUpForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = fieldValue(elements.signUpForm, 'email');
    const password = elements.signUpForm.elements.namedItem('password').value;
    if (!email || !password) {
      failed(new Error('Enter your email address and choose a password.'));
      return;
    }
    submitting(elements.signUpForm, async () => {
      await session.signUp(email, password);
      pendingSignUp = { email, password };
      elements.signUpForm.reset();
      elements.confirmText.textContent = `We emailed a confirmation code to ${email}. Enter it below.`;
      elements.heading.textContent = 'Confirm your email address';
      showForm(elements.confirmForm);
    });
  });
  elements.confirmForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = fieldValue(elements.confirmForm, 'code');
    if (!code) {
      failed(new Error('Enter the confirmation code from the email.'));
      return;
    }
    submitting(elements.confirmForm, async () => {
      await session.confirmSignUp(pendingSignUp.email, code);
      elements.confirmForm.reset();
      await session.signIn(pendingSignUp.email, pendingSignUp.password);
      pendingSignUp = null;
    });
  });
  elements.signOut.addEventListener('click', () => {
    uploads.forgetAll();
    session.signOut();
  });

  render(session.current, null);
  if (session.current) gallery.load();
  return { sessionChanged };
}
