// Entry point: finds the page's elements, loads config.json and starts the features, each with
// the context it needs: the file chooser and list (chooser.js, uploads.js) always, and with
// sign-in (config.json auth.mode "cognito") the account forms and "My images" (account.js,
// gallery.js). Features never import each other or this file: what one needs of another is
// handed in here.
import { startAccount } from './account.js';
import { createSession } from './auth.js';
import { setChoosing, wireChooser } from './chooser.js';
import { createClient } from './client.js';
import { createGallery } from './gallery.js';
import { createHistory } from './history.js';
import { describeDelivery, describeLimits, loadConfig } from './page_config.js';
import { createSessionScope } from './session_scope.js';
import { createAnnouncer, showPageError } from './ui.js';
import { createUploads } from './uploads.js';
import { ConfigError } from './validate.js';

const $ = (id) => document.getElementById(id);

function safeLocalStorage() {
  try {
    return window.localStorage;
  } catch {
    return { getItem: () => null, setItem: () => {} }; // storage blocked: remember nothing
  }
}

/** Start the page: nothing of it lives at module level, every feature gets what it needs. */
async function start() {
  document.documentElement.classList.add('js');
  const app = $('app');
  const errorBox = $('error-box');
  const chooser = { form: $('upload-form'), input: $('file-input'), dropZone: $('drop-zone'), dropZoneText: $('drop-zone-text') };
  const announce = createAnnouncer($('announcer'));
  let uploads = null; // the file list, once config.json is loaded

  // The big button replaces the native control for everyone; the input stays (visually
  // hidden) as the real chooser behind it, out of the tab order and the accessibility tree.
  chooser.dropZone.hidden = false;
  chooser.input.tabIndex = -1;
  chooser.input.setAttribute('aria-hidden', 'true');
  setChoosing(chooser, false);
  app.dataset.appState = 'loading';
  wireChooser(chooser, {
    doc: document,
    onFiles: (files) => uploads && uploads.addFiles(files),
    ready: () => Boolean(uploads),
  });
  window.addEventListener('beforeunload', (event) => {
    if (uploads && uploads.busy()) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  let config;
  try {
    config = await loadConfig();
  } catch (error) {
    const detail = error instanceof ConfigError ? error.message : 'The page could not start.';
    showPageError(errorBox, 'Uploading is not available right now', detail);
    app.dataset.appState = 'error';
    return;
  }
  const limits = describeLimits(config);
  chooser.input.accept = limits.accept;
  $('file-hint').textContent = limits.hint;
  $('intro-variants').textContent = limits.intro;
  $('delivery-note').textContent = describeDelivery(config.delivery);

  const signIn = Boolean(config.auth && config.auth.mode === 'cognito');
  let account = null; // the session reports changes only later (never while being created)
  const session = signIn
    ? createSession(config.auth, { onChange: (current, reason) => account.sessionChanged(current, reason) })
    : null;
  const context = Object.freeze({
    config,
    session,
    client: createClient({ apiUrl: config.apiUrl, session }),
    scope: createSessionScope(),
    history: createHistory(safeLocalStorage()),
    announce,
  });
  let gallery = null;
  uploads = createUploads(context, fileListElements(chooser), { onReady: () => gallery.load() });
  if (signIn) {
    gallery = createGallery(context, galleryElements(errorBox), {
      onDeleted: (id) => uploads.forgetUpload(id),
    });
    account = startAccount(context, accountElements(), {
      gallery,
      uploads,
      setChoosing: (enabled) => setChoosing(chooser, enabled),
    });
  } else {
    setChoosing(chooser, true);
    uploads.showRemembered();
  }
  app.dataset.appState = 'ready';
}

function fileListElements(chooser) {
  return {
    list: $('file-list'),
    summary: $('files-summary'),
    filesSection: $('files-section'),
    clearButton: $('clear-finished'),
    dropZone: chooser.dropZone,
  };
}

function galleryElements(errorBox) {
  return {
    section: $('gallery'),
    list: $('gallery-list'),
    summary: $('gallery-summary'),
    more: $('gallery-more'),
    refresh: $('gallery-refresh'),
    errorBox,
  };
}

function accountElements() {
  return {
    section: $('account'),
    heading: $('account-heading'),
    intro: $('account-intro'),
    error: $('auth-error'),
    signInForm: $('sign-in-form'),
    newPasswordForm: $('new-password-form'),
    signUpForm: $('sign-up-form'),
    confirmForm: $('confirm-form'),
    confirmText: $('confirm-text'),
    showSignUp: $('show-sign-up'),
    showSignIn: $('show-sign-in'),
    signedIn: $('signed-in'),
    signedInEmail: $('signed-in-email'),
    signOut: $('sign-out'),
    passwordHints: [...document.querySelectorAll('.password-hint')],
  };
}

start();
