// Entry point: loads config.json, wires the chooser and drop zone, runs uploads.
import { createUpload, getStatus, putFile } from './api.js';
import { describeVariants, formatBytes, listTypes, plural } from './format.js';
import { createHistory } from './history.js';
import { createLimiter, PollTimeoutError, pollUntilSettled } from './queue.js';
import { createAnnouncer, FileRow, showPageError } from './ui.js';
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
};

document.documentElement.classList.add('js');
const announce = createAnnouncer(dom.announcer);
const limit = createLimiter(UPLOAD_CONCURRENCY);
const rows = new Set();
const history = createHistory(safeLocalStorage());
let config = null;

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
    const upload = await createUpload(config.apiUrl, {
      contentType,
      size: row.file.size,
      filename: row.file.name,
    });
    row.setUploadId(upload.id);
    history.remember({ id: upload.id, name: row.name, size: row.file.size, contentType });
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
    result = await pollUntilSettled(() => getStatus(config.apiUrl, id), {
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
  setEnabled(true);
  dom.app.dataset.appState = 'ready';
  showRemembered();
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
