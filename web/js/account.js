// The account section (with sign-in, config.json auth.mode "cognito"): the sign-in,
// new-password, sign-up and confirmation forms, "Signed in as" and Sign out. It draws what the
// session says (sessionChanged) and drives the session from the forms; the gallery and the
// file list are handed in, never imported. Everything else comes in the context (main.js).
import { showPageError } from './ui.js';

function fieldValue(form, name) {
  const field = form.elements.namedItem(name);
  return field ? String(field.value || '').trim() : '';
}

/** Which form shows, the section's error box, and a form's busy state while it is sent. */
function createForms(elements) {
  const all = [elements.signInForm, elements.newPasswordForm, elements.signUpForm, elements.confirmForm];
  const forms = {
    /** Show one form (null: none, "Signed in as" instead) and focus its first field. */
    show(form) {
      for (const candidate of all) candidate.hidden = candidate !== form;
      elements.signedIn.hidden = form !== null;
      if (form) {
        const first = form.querySelector('input');
        if (first) first.focus();
      }
    },
    /** Show the heading and the form (from the links between sign-in and sign-up). */
    switchTo(heading, form) {
      forms.clearError();
      elements.heading.textContent = heading;
      forms.show(form);
    },
    failed(error) {
      showPageError(elements.error, 'There is a problem', error.message || 'Signing in failed.');
    },
    clearError() {
      elements.error.hidden = true;
      elements.error.replaceChildren();
    },
    /** Run work() with the form's buttons disabled; a failure is shown in the error box. */
    async submitting(form, work) {
      const buttons = [...form.querySelectorAll('button')];
      buttons.forEach((b) => (b.disabled = true));
      forms.clearError();
      try {
        await work();
      } catch (error) {
        forms.failed(error);
      } finally {
        buttons.forEach((b) => (b.disabled = false));
      }
    },
    /** On submit: handle(...values of the named fields), or `missing` when one is empty. */
    onSubmit(form, names, missing, handle) {
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        // Passwords are taken as typed; other fields without surrounding spaces.
        const values = names.map((name) =>
          name === 'password' ? form.elements.namedItem(name).value : fieldValue(form, name),
        );
        if (values.some((value) => !value)) {
          forms.failed(new Error(missing));
          return;
        }
        forms.submitting(form, () => handle(...values));
      });
    },
  };
  return forms;
}

/** Sign-in, and the new password an operator-created user sets at the first sign-in. */
function wireSignIn(elements, session, forms) {
  let pendingChallenge = null;
  const signInMissing = 'Enter your email address and your password.';
  forms.onSubmit(elements.signInForm, ['email', 'password'], signInMissing, async (email, password) => {
    const result = await session.signIn(email, password);
    elements.signInForm.reset();
    if (result.challenge) {
      pendingChallenge = result;
      forms.show(elements.newPasswordForm);
    }
  });
  forms.onSubmit(elements.newPasswordForm, ['password'], 'Enter a new password.', async (password) => {
    await session.setNewPassword(pendingChallenge, password);
    pendingChallenge = null;
    elements.newPasswordForm.reset();
  });
}

/** Sign-up, then the emailed code, then signing in with the chosen password. */
function wireSignUp(elements, session, forms) {
  let pendingSignUp = null;
  elements.showSignUp.addEventListener('click', () => forms.switchTo('Create an account', elements.signUpForm));
  elements.showSignIn.addEventListener('click', () => forms.switchTo('Sign in', elements.signInForm));
  const signUpMissing = 'Enter your email address and choose a password.';
  forms.onSubmit(elements.signUpForm, ['email', 'password'], signUpMissing, async (email, password) => {
    await session.signUp(email, password);
    pendingSignUp = { email, password };
    elements.signUpForm.reset();
    elements.confirmText.textContent = `We emailed a confirmation code to ${email}. Enter it below.`;
    elements.heading.textContent = 'Confirm your email address';
    forms.show(elements.confirmForm);
  });
  forms.onSubmit(elements.confirmForm, ['code'], 'Enter the confirmation code from the email.', async (code) => {
    await session.confirmSignUp(pendingSignUp.email, code);
    elements.confirmForm.reset();
    await session.signIn(pendingSignUp.email, pendingSignUp.password);
    pendingSignUp = null;
  });
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
  const forms = createForms(elements);

  function render(current, reason) {
    const signedIn = Boolean(current);
    setChoosing(signedIn);
    gallery.show(signedIn);
    elements.intro.hidden = signedIn;
    if (signedIn) {
      elements.heading.textContent = 'Your account';
      elements.signedInEmail.textContent = current.email || 'your account';
      forms.show(null);
      forms.clearError();
    } else {
      elements.heading.textContent = 'Sign in';
      forms.show(elements.signInForm);
      if (reason && reason !== 'signed-out') showPageError(elements.error, 'You are signed out', reason);
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
  const minLength = config.auth.passwordMinLength || 12;
  const rule = `At least ${minLength} characters, with lower and upper case letters, a digit and a symbol.`;
  for (const hint of elements.passwordHints) hint.textContent = rule;
  elements.showSignUp.hidden = !config.auth.selfSignUp;
  wireSignIn(elements, session, forms);
  wireSignUp(elements, session, forms);
  elements.signOut.addEventListener('click', () => {
    uploads.forgetAll();
    session.signOut();
  });

  render(session.current, null);
  if (session.current) gallery.load();
  return { sessionChanged };
}
