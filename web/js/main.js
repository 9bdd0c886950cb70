// Entry point: loads config.json, wires the chooser and drop zone, runs uploads. With sign-in
// (config.json auth.mode "cognito") it also draws the account forms and "My images".
import { createUpload, deleteUpload, getStatus, listUploads, putFile } from './api.js';
import { createSession } from './auth.js';
import { describeVariants, formatBytes, listTypes, plural } from './format.js';
import { createHistory } from './history.js';
import { createLimiter, PollTimeoutError, pollUntilSettled } from './queue.js';
import { createGalleryLoader, createSessionScope } from './session_scope.js';
import { createAnnouncer, el, FileRow, showPageError, STATUS_LABELS } from './ui.js';
import { acceptList, checkFile, ConfigError, parseConfig } from './validate.js';

const UPLOAD_CONCURRENCY = 3;
const POLL = Object.freeze({ initialDelayMs: 500, maxDelayMs: 4000, timeoutMs: 120000 });
// Right after an upload the API may briefly not know the id yet: keep polling through 404s
// for this long before calling it an error.
const NOT_FOUND_GRACE_MS = 15000;

const $ = (id) => document.getElementById(id);
const dom = {
  app: $('app'),
  errorBox: $('error-box'),
  form: $('upload-form'),
  input: $('file-input'),
  hint: $('file-hint'),
  dropZone: $('drop-zone'),
  dropZoneText: $('drop-zone-text'),
  intro: $('intro-variants'),
  filesSection: $('files-section'),
  list: $('file-list'),
  summary: $('files-summary'),
  clearButton: $('clear-finished'),
  announcer: $('announcer'),
  account: $('account'),
  accountHeading: $('account-heading'),
  accountIntro: $('account-intro'),
  authError: $('auth-error'),
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
  gallery: $('gallery'),
  galleryList: $('gallery-list'),
  gallerySummary: $('gallery-summary'),
  galleryMore: $('gallery-more'),
  galleryRefresh: $('gallery-refresh'),
};

document.documentElement.classList.add('js');
const announce = createAnnouncer(dom.announcer);
const limit = createLimiter(UPLOAD_CONCURRENCY);
const rows = new Set();
const history = createHistory(safeLocalStorage());
let config = null;
let session = null; // the signed-in session (auth.js), when config.auth.mode is "cognito"

/** What every API call carries: the ID token when signed in. */
async function apiOptions() {
  return session ? { token: await session.idToken() } : {};
}

/** A 401 from the API ends the session (the token was refused or revoked). */
function checkSession(error) {
  if (session && error && error.status === 401) session.expired();
  return error;
}

function safeLocalStorage() {
  try {
    return window.localStorage;
  } catch {
    return { getItem: () => null, setItem: () => {} }; // storage blocked: remember nothing
  }
}

async function loadConfig() {
  let response;
  try {
    response = await fetch('./config.json', { cache: 'no-store' });
  } catch {
    throw new ConfigError(
      "The page's settings file (config.json) could not be downloaded. Check your connection and reload the page.",
    );
  }
  if (!response.ok) {
    throw new ConfigError(
      `The page's settings file (config.json) is missing (HTTP ${response.status}). The site may not be fully set up yet.`,
    );
  }
  let raw;
  try {
    raw = await response.json();
  } catch {
    throw new ConfigError("The page's settings file (config.json) is not valid JSON.");
  }
  return parseConfig(raw);
}

function applyConfig() {
  dom.input.accept = acceptList(config.allowedTypes);
  dom.hint.textContent =
    `${listTypes(config.allowedTypes)} images, up to ${formatBytes(config.maxBytes)} each. ` +
    'You can choose several at once.';
  const sizes = describeVariants(config.variants);
  dom.intro.textContent = sizes
    ? `Each image comes back in ${plural(config.variants.length, 'size')}: ${sizes}. Images are never made bigger than the original.`
    : 'Each image is checked and processed after upload.';
}

function setEnabled(enabled) {
  dom.input.disabled = !enabled;
  dom.dropZone.disabled = !enabled;
}

// ---- summary -------------------------------------------------------------------------

const SUMMARY_ORDER = [
  ['done', 'done'],
  ['uploading', 'uploading'],
  ['queued', 'waiting'],
  ['processing', 'processing'],
  ['rejected', 'rejected'],
  ['refused', 'not uploaded'],
  ['error', 'failed'],
];

function updateSummary() {
  const counts = {};
  for (const row of rows) counts[row.status] = (counts[row.status] || 0) + 1;
  const parts = SUMMARY_ORDER.filter(([key]) => counts[key]).map(([key, label]) => `${counts[key]} ${label}`);
  dom.summary.textContent = rows.size ? `${plural(rows.size, 'file')}: ${parts.join(', ')}.` : '';
  dom.filesSection.hidden = rows.size === 0;
  dom.clearButton.hidden = ![...rows].some((r) => ['done', 'refused', 'rejected'].includes(r.status));
}

// ---- one file ------------------------------------------------------------------------

function isRetryable(error) {
  return (
    error.kind === 'network' ||
    error.kind === 'storage' ||
    error.kind === 'response' ||
    error.status === 429 ||
    error.status >= 500
  );
}

async function uploadOne(row, contentType) {
  row.setStatus('uploading');
  row.setMessage('');
  row.setProgress(0, { fromEvent: false });
  for (let attempt = 0; ; attempt += 1) {
    // Ask for the presigned URL only now: it is valid for about a minute.
    let upload;
    try {
      upload = await createUpload(
        config.apiUrl,
        { contentType, size: row.file.size, filename: row.file.name },
        await apiOptions(),
      );
    } catch (error) {
      throw checkSession(error);
    }
    row.setUploadId(upload.id);
    if (!session) history.remember({ id: upload.id, name: row.name, size: row.file.size, contentType });
    try {
      await putFile(upload, row.file, {
        onProgress: (loaded, total) => row.setProgress(total > 0 ? loaded / total : 0),
      });
      row.setProgress(1, { fromEvent: false });
      return upload.id;
    } catch (error) {
      // An expired or refused link is worth one fresh link before giving up.
      if (attempt === 0 && error.kind === 'storage' && error.status === 403) continue;
      throw error;
    }
  }
}

async function startRow(row, contentType) {
  row.setStatus('queued');
  row.setMessage('');
  let id;
  try {
    id = await limit(() => uploadOne(row, contentType));
  } catch (error) {
    row.setStatus('error');
    row.setMessage(error.message, 'error');
    announce(`${row.name} could not be uploaded. ${error.message}`);
    if (isRetryable(error)) row.setAction('Try again', () => startRow(row, contentType));
    return;
  }
  await waitForResult(row, id);
}

async function waitForResult(row, id, { earlier = false } = {}) {
  row.setStatus('processing');
  row.setMessage(earlier ? 'Uploaded earlier from this browser. Checking…' : 'Uploaded. Making the new sizes…', 'info');
  let result;
  try {
    result = await pollUntilSettled(async () => getStatus(config.apiUrl, id, await apiOptions()), {
      ...POLL,
      isTransient: (error, elapsed) =>
        error.kind === 'network' ||
        error.status === 429 ||
        error.status >= 500 ||
        (error.status === 404 && !earlier && elapsed < NOT_FOUND_GRACE_MS),
    });
  } catch (error) {
    if (earlier && error.status === 404) {
      row.setStatus('error');
      row.setMessage('This upload is no longer available: its results have expired.', 'error');
      return;
    }
    const message =
      error instanceof PollTimeoutError
        ? `Still processing after ${Math.round(POLL.timeoutMs / 60000)} minutes, so this page stopped checking. It may still finish: check again in a while.`
        : error.message;
    row.setStatus('error');
    row.setMessage(message, 'error');
    row.setAction('Check again', () => waitForResult(row, id));
    announce(`${row.name}: ${message}`);
    return;
  }
  if (result.status === 'done') {
    row.setStatus('done');
    row.setMessage(
      result.variants.length ? (earlier ? 'Uploaded earlier from this browser.' : '') : 'Processed, but no sizes were produced.',
      'info',
    );
    row.showVariants(result.variants, result.placeholder);
    announce(`${row.name} is ready in ${plural(result.variants.length, 'size')}.`);
    if (session) loadGallery();
  } else if (result.status === 'failed') {
    // The service gave up (not the image's fault); an operator's replay may still finish it.
    const message = (result.error && result.error.message) || 'Processing failed.';
    row.setStatus('error');
    row.setMessage(`${message} You can check again later.`, 'error');
    row.setAction('Check again', () => waitForResult(row, id));
    announce(`${row.name}: ${message}`);
  } else {
    const message = (result.error && result.error.message) || 'The image could not be processed.';
    row.setStatus('rejected');
    row.setMessage(message, 'error');
    announce(`${row.name} was rejected. ${message}`);
  }
}

// ---- choosing files ------------------------------------------------------------------

function addFiles(fileList) {
  const files = Array.from(fileList || []);
  if (files.length === 0 || !config) return;
  const refused = [];
  const accepted = [];
  for (const file of files) {
    const check = checkFile(file, config);
    const row = new FileRow(dom.list, file, check.contentType, updateSummary);
    rows.add(row);
    if (check.ok) {
      accepted.push([row, check.contentType]);
    } else {
      row.setStatus('refused');
      row.setMessage(check.reason, 'error');
      refused.push(row.name);
    }
  }
  const names = files.length <= 5 ? `: ${files.map((f) => f.name).join(', ')}` : '';
  let sentence = `${plural(files.length, 'file')} chosen${names}.`;
  if (refused.length) {
    sentence += ` ${plural(refused.length, 'file')} cannot be uploaded: ${refused.join(', ')}. See the list for why.`;
  }
  if (accepted.length) sentence += ` Uploading ${plural(accepted.length, 'file')}.`;
  announce(sentence);
  for (const [row, contentType] of accepted) startRow(row, contentType);
}

function forgetRow(row) {
  const id = row.root.dataset.uploadId;
  if (id) history.forget(id);
  rows.delete(row);
  row.remove();
  updateSummary();
}

function clearFinished() {
  for (const row of [...rows]) {
    if (['done', 'refused', 'rejected'].includes(row.status)) forgetRow(row);
  }
  updateSummary();
  dom.dropZone.focus();
  announce('Finished files cleared from the list.');
}

function hasFiles(event) {
  return Boolean(event.dataTransfer && Array.from(event.dataTransfer.types || []).includes('Files'));
}

function wireEvents() {
  dom.form.addEventListener('submit', (event) => event.preventDefault());
  dom.input.addEventListener('change', () => {
    addFiles(dom.input.files);
    dom.input.value = ''; // choosing the same file again still fires "change"
  });
  dom.dropZone.addEventListener('click', () => dom.input.click());
  dom.clearButton.addEventListener('click', clearFinished);

  // Files dropped anywhere on the page are taken (instead of the browser opening them).
  let dragDepth = 0;
  const setDragging = (on) => {
    dom.dropZone.classList.toggle('is-dragover', on);
    dom.dropZoneText.textContent = on ? 'Drop the images to upload them' : 'Choose images';
  };
  document.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    dragDepth += 1;
    setDragging(true);
  });
  document.addEventListener('dragleave', (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) setDragging(false);
  });
  document.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = config && !dom.dropZone.disabled ? 'copy' : 'none';
  });
  document.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    setDragging(false);
    if (!dom.dropZone.disabled) addFiles(event.dataTransfer.files);
  });

  window.addEventListener('beforeunload', (event) => {
    if ([...rows].some((r) => r.status === 'uploading' || r.status === 'queued')) {
      event.preventDefault();
      event.returnValue = '';
    }
  });
}

async function start() {
  // The big button replaces the native control for everyone; the input stays (visually
  // hidden) as the real chooser behind it, out of the tab order and the accessibility tree.
  dom.dropZone.hidden = false;
  dom.input.tabIndex = -1;
  dom.input.setAttribute('aria-hidden', 'true');
  setEnabled(false);
  dom.app.dataset.appState = 'loading';
  wireEvents();
  try {
    config = await loadConfig();
  } catch (error) {
    const detail = error instanceof ConfigError ? error.message : 'The page could not start.';
    showPageError(dom.errorBox, 'Uploading is not available right now', detail);
    dom.app.dataset.appState = 'error';
    return;
  }
  applyConfig();
  if (config.auth && config.auth.mode === 'cognito') {
    startSignIn();
  } else {
    setEnabled(true);
    showRemembered();
  }
  dom.app.dataset.appState = 'ready';
}

// ---- sign-in (config.auth.mode "cognito") --------------------------------------------

let pendingChallenge = null;
let pendingSignUp = null;

function showForm(form) {
  for (const candidate of [dom.signInForm, dom.newPasswordForm, dom.signUpForm, dom.confirmForm]) {
    candidate.hidden = candidate !== form;
  }
  dom.signedIn.hidden = form !== null;
  if (form) {
    const first = form.querySelector('input');
    if (first) first.focus();
  }
}

function authFailed(error) {
  showPageError(dom.authError, 'There is a problem', error.message || 'Signing in failed.');
}

function clearAuthError() {
  dom.authError.hidden = true;
  dom.authError.replaceChildren();
}

function renderAccount(current, reason) {
  const signedIn = Boolean(current);
  setEnabled(signedIn);
  dom.gallery.hidden = !signedIn;
  dom.accountIntro.hidden = signedIn;
  if (signedIn) {
    dom.accountHeading.textContent = 'Your account';
    dom.signedInEmail.textContent = current.email || 'your account';
    showForm(null);
    clearAuthError();
  } else {
    dom.accountHeading.textContent = 'Sign in';
    dom.galleryList.replaceChildren();
    dom.gallerySummary.textContent = '';
    dom.galleryMore.hidden = true;
    showForm(dom.signInForm);
    if (reason && reason !== 'signed-out') {
      showPageError(dom.authError, 'You are signed out', reason);
    }
  }
}

async function submitting(form, work) {
  const buttons = [...form.querySelectorAll('button')];
  buttons.forEach((b) => (b.disabled = true));
  clearAuthError();
  try {
    await work();
  } catch (error) {
    authFailed(error);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function fieldValue(form, name) {
  const field = form.elements.namedItem(name);
  return field ? String(field.value || '').trim() : '';
}

function startSignIn() {
  const auth = config.auth;
  dom.account.hidden = false;
  const rule = `At least ${auth.passwordMinLength || 12} characters, with lower and upper case letters, a digit and a symbol.`;
  for (const hint of document.querySelectorAll('.password-hint')) hint.textContent = rule;
  dom.showSignUp.hidden = !auth.selfSignUp;
  session = createSession(auth, {
    onChange: (current, reason) => {
      if (reason === 'refreshed') return;
      sessionScope.reset(); // a listing of the previous session is aborted and never drawn
      renderAccount(current, reason);
      if (current) {
        announce(`Signed in as ${current.email}.`);
        loadGallery();
      } else {
        announce(reason && reason !== 'signed-out' ? reason : 'You are signed out.');
      }
    },
  });

  dom.signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = fieldValue(dom.signInForm, 'email');
    const password = dom.signInForm.elements.namedItem('password').value;
    if (!email || !password) {
      authFailed(new Error('Enter your email address and your password.'));
      return;
    }
    submitting(dom.signInForm, async () => {
      const result = await session.signIn(email, password);
      dom.signInForm.reset();
      if (result.challenge) {
        pendingChallenge = result;
        showForm(dom.newPasswordForm);
      }
    });
  });
  dom.newPasswordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const password = dom.newPasswordForm.elements.namedItem('password').value;
    if (!password) {
      authFailed(new Error('Enter a new password.'));
      return;
    }
    submitting(dom.newPasswordForm, async () => {
      await session.setNewPassword(pendingChallenge, password);
      pendingChallenge = null;
      dom.newPasswordForm.reset();
    });
  });
  dom.showSignUp.addEventListener('click', () => {
    clearAuthError();
    dom.accountHeading.textContent = 'Create an account';
    showForm(dom.signUpForm);
  });
  dom.showSignIn.addEventListener('click', () => {
    clearAuthError();
    dom.accountHeading.textContent = 'Sign in';
    showForm(dom.signInForm);
  });
  dom.signUpForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const email = fieldValue(dom.signUpForm, 'email');
    const password = dom.signUpForm.elements.namedItem('password').value;
    if (!email || !password) {
      authFailed(new Error('Enter your email address and choose a password.'));
      return;
    }
    submitting(dom.signUpForm, async () => {
      await session.signUp(email, password);
      pendingSignUp = { email, password };
      dom.signUpForm.reset();
      dom.confirmText.textContent = `We emailed a confirmation code to ${email}. Enter it below.`;
      dom.accountHeading.textContent = 'Confirm your email address';
      showForm(dom.confirmForm);
    });
  });
  dom.confirmForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = fieldValue(dom.confirmForm, 'code');
    if (!code) {
      authFailed(new Error('Enter the confirmation code from the email.'));
      return;
    }
    submitting(dom.confirmForm, async () => {
      await session.confirmSignUp(pendingSignUp.email, code);
      dom.confirmForm.reset();
      await session.signIn(pendingSignUp.email, pendingSignUp.password);
      pendingSignUp = null;
    });
  });
  dom.signOut.addEventListener('click', () => {
    for (const row of [...rows]) forgetRow(row);
    session.signOut();
  });
  dom.galleryRefresh.addEventListener('click', () => loadGallery());
  dom.galleryMore.addEventListener('click', () => loadGallery({ more: true }));

  renderAccount(session.current, null);
  if (session.current) loadGallery();
}

// ---- "My images" ---------------------------------------------------------------------

const GALLERY_PAGE = 12;
const sessionScope = createSessionScope();
const gallery = createGalleryLoader({
  scope: sessionScope,
  list: async ({ cursor, signal }) =>
    listUploads(config.apiUrl, { ...(await apiOptions()), limit: GALLERY_PAGE, cursor, signal }),
  draw: (uploads, { more, hasMore }) => {
    const items = uploads.map(galleryItem);
    if (more) dom.galleryList.append(...items);
    else dom.galleryList.replaceChildren(...items);
    dom.galleryMore.hidden = !hasMore;
    updateGallerySummary();
  },
  failed: (error) => {
    checkSession(error);
    if (session.current) dom.gallerySummary.textContent = `Your images could not be listed. ${error.message}`;
  },
});

function galleryImage(upload) {
  const ordered = [...upload.variants].sort((a, b) => a.width - b.width);
  return ordered.find((v) => v.width >= 200) || ordered[ordered.length - 1] || null;
}

function galleryItem(upload) {
  const name = upload.fileName || 'Untitled image';
  const item = el('li', { className: 'gallery__item', attrs: { 'data-upload-id': upload.id } });
  const picture = upload.status === 'done' ? galleryImage(upload) : null;
  if (picture) {
    item.append(
      el('img', {
        className: 'gallery__image',
        attrs: { src: picture.url, alt: name, width: picture.width, height: picture.height, loading: 'lazy' },
      }),
    );
  } else {
    const label =
      upload.status === 'processing'
        ? 'Still processing'
        : (upload.error && upload.error.message) || 'No picture';
    item.append(el('div', { className: 'gallery__placeholder', text: label }));
  }
  const when = upload.createdAt ? new Date(upload.createdAt) : null;
  const meta = [
    STATUS_LABELS[upload.status === 'failed' ? 'error' : upload.status] || upload.status,
    upload.bytes ? formatBytes(upload.bytes) : '',
    when && !Number.isNaN(when.getTime()) ? when.toLocaleString() : '',
  ].filter(Boolean);
  item.append(el('p', { className: 'gallery__name', text: name }));
  item.append(el('p', { className: 'gallery__meta', text: meta.join(' · ') }));
  const remove = el('button', {
    className: 'button button--secondary button--small',
    text: 'Delete',
    attrs: { type: 'button', 'aria-label': `Delete ${name}` },
  });
  remove.addEventListener('click', () => removeUpload(upload, name, item, remove));
  item.append(remove);
  return item;
}

async function removeUpload(upload, name, item, button) {
  button.disabled = true;
  try {
    await deleteUpload(config.apiUrl, upload.id, await apiOptions());
  } catch (error) {
    checkSession(error);
    button.disabled = false;
    showPageError(dom.errorBox, `${name} could not be deleted`, error.message);
    return;
  }
  const next = item.nextElementSibling || item.previousElementSibling;
  item.remove();
  for (const row of [...rows]) if (row.root.dataset.uploadId === upload.id) forgetRow(row);
  updateGallerySummary();
  announce(`${name} deleted, with all its sizes.`);
  const focusTarget = next ? next.querySelector('button') : dom.galleryRefresh;
  if (focusTarget) focusTarget.focus();
}

function updateGallerySummary() {
  const count = dom.galleryList.children.length;
  dom.gallerySummary.textContent = count
    ? `${plural(count, 'image')}${gallery.cursor ? ' so far' : ''}.`
    : 'You have not uploaded any images yet.';
}

/** List "My images" (the next page with more), tied to the session it starts in. */
function loadGallery({ more = false } = {}) {
  if (!session || !session.current) return Promise.resolve();
  return gallery.load({ more });
}

/** The uploads this browser made before (newest first), each with its current status. */
function showRemembered() {
  const entries = history.list();
  if (entries.length === 0) return;
  for (const entry of entries) {
    const row = new FileRow(dom.list, { name: entry.name, size: entry.size }, entry.contentType, updateSummary);
    rows.add(row);
    row.setUploadId(entry.id);
    row.setForget(() => {
      forgetRow(row);
      announce(`${row.name} forgotten: this browser no longer lists it.`);
    });
    waitForResult(row, entry.id, { earlier: true });
  }
  announce(`${plural(entries.length, 'earlier upload')} from this browser listed below.`);
}

start();
