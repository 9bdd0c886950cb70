// The file list: one row per chosen file (check it, ask for a presigned URL, PUT it with
// progress, poll until processed, show the sizes), the summary line, "Clear finished" and the
// rows remembered from earlier visits. Everything it needs comes in the context (main.js).
import { plural } from './format.js';
import { createMultipartUpload, createResumeStore } from './multipart.js';
import { AbortError, createLimiter, PollTimeoutError, pollUntilSettled } from './queue.js';
import { FileRow } from './ui.js';
import { checkFile } from './validate.js';

const UPLOAD_CONCURRENCY = 3;
const POLL = Object.freeze({ initialDelayMs: 500, maxDelayMs: 4000, timeoutMs: 120000 });
// Right after an upload the API may briefly not know the id yet: keep polling through 404s
// for this long before calling it an error.
const NOT_FOUND_GRACE_MS = 15000;

const SUMMARY_ORDER = [
  ['done', 'done'],
  ['uploading', 'uploading'],
  ['paused', 'paused'],
  ['queued', 'waiting'],
  ['processing', 'processing'],
  ['rejected', 'rejected'],
  ['refused', 'not uploaded'],
  ['error', 'failed'],
  ['cancelled', 'cancelled'],
];
const FINISHED = ['done', 'refused', 'rejected', 'cancelled'];

function isRetryable(error) {
  return (
    error.kind === 'network' ||
    error.kind === 'storage' ||
    error.kind === 'response' ||
    error.status === 429 ||
    error.status >= 500
  );
}

/** The rows on the page, the summary line above them and "Clear finished". */
function createRowList(elements, { history, announce }) {
  const rows = new Set();

  function updateSummary() {
    const counts = {};
    for (const row of rows) counts[row.status] = (counts[row.status] || 0) + 1;
    const parts = SUMMARY_ORDER.filter(([key]) => counts[key]).map(([key, label]) => `${counts[key]} ${label}`);
    elements.summary.textContent = rows.size ? `${plural(rows.size, 'file')}: ${parts.join(', ')}.` : '';
    elements.filesSection.hidden = rows.size === 0;
    elements.clearButton.hidden = ![...rows].some((r) => FINISHED.includes(r.status));
  }

  function forget(row) {
    const id = row.root.dataset.uploadId;
    if (id) history.forget(id);
    rows.delete(row);
    row.remove();
    updateSummary();
  }

  elements.clearButton.addEventListener('click', () => {
    for (const row of [...rows]) {
      if (FINISHED.includes(row.status)) forget(row);
    }
    updateSummary();
    elements.dropZone.focus();
    announce('Finished files cleared from the list.');
  });

  return {
    /** A new row for file ({name, size}) at the end of the list. */
    add(file, contentType) {
      const row = new FileRow(elements.list, file, contentType, updateSummary);
      rows.add(row);
      return row;
    },
    forget,
    all: () => [...rows],
  };
}

/** Remember an upload id on the row and (without sign-in) in this browser's history. */
function rememberUpload(run, row, id, contentType) {
  row.setUploadId(id);
  if (!run.session) run.history.remember({ id, name: row.name, size: row.file.size, contentType });
}

/**
 * A file above the multipart threshold: parts, resumable (multipart.js). The row offers Pause
 * (then Resume) and Cancel while it runs; resolves the upload id once S3 assembled the file.
 * The history remembers it only then: an unfinished one is found again by picking the file.
 */
async function uploadInParts(run, row, contentType, firstGrant = null) {
  const upload = row.multipart || createMultipartUpload(row.file, { client: run.client });
  row.multipart = upload;
  let grant = firstGrant;
  row.setAction('Pause', () => upload.pause());
  row.setCancel(() => {
    row.cancelled = true;
    upload.cancel(run.resumeStore).catch(() => {});
  });
  try {
    const id = await upload.run({
      store: run.resumeStore,
      begin: async () => {
        const started = grant || (await run.client.createUpload({ contentType, size: row.file.size, filename: row.file.name }));
        grant = null;
        row.setUploadId(started.id);
        return started;
      },
      onResumed: (held, count) => {
        row.setUploadId(upload.id);
        row.setMessage(`Continuing: ${held} of ${count} parts were already uploaded.`, 'info');
        run.announce(`${row.name}: continuing the upload, ${held} of ${count} parts were already uploaded.`);
      },
      onProgress: (bytes, size, partsIn, count) => {
        row.setProgress(size > 0 ? bytes / size : 0);
        row.setStatus('uploading', `Uploading ${partsIn} of ${count} parts`);
      },
    });
    rememberUpload(run, row, id, contentType);
    return id;
  } finally {
    row.setAction(null);
    row.setCancel(null);
  }
}

/** Presign and PUT one file; resolves its upload id. run: {config, client, session, history}. */
async function uploadOne(run, row, contentType) {
  row.setStatus('uploading');
  row.setMessage('');
  row.setProgress(0, { fromEvent: false });
  if (run.config.multipartThreshold && row.file.size > run.config.multipartThreshold) {
    return uploadInParts(run, row, contentType);
  }
  for (let attempt = 0; ; attempt += 1) {
    // Ask for the presigned URL only now: it is valid for about a minute.
    const upload = await run.client.createUpload({ contentType, size: row.file.size, filename: row.file.name });
    if (upload.method === 'MULTIPART') return uploadInParts(run, row, contentType, upload);
    rememberUpload(run, row, upload.id, contentType);
    try {
      await run.client.putFile(upload, row.file, {
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

/** Poll upload id until processed and show the outcome on the row. */
async function waitForResult(run, row, id, { earlier = false } = {}) {
  row.setStatus('processing');
  row.setMessage(earlier ? 'Uploaded earlier from this browser. Checking…' : 'Uploaded. Making the new sizes…', 'info');
  let result;
  try {
    result = await pollUntilSettled(() => run.client.getStatus(id), {
      ...run.polling,
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
        ? `Still processing after ${Math.round(run.polling.timeoutMs / 60000)} minutes, so this page stopped checking. It may still finish: check again in a while.`
        : error.message;
    row.setStatus('error');
    row.setMessage(message, 'error');
    row.setAction('Check again', () => waitForResult(run, row, id));
    run.announce(`${row.name}: ${message}`);
    return;
  }
  showResult(run, row, id, result, earlier);
}

function showResult(run, row, id, result, earlier) {
  if (result.status === 'done') {
    row.setStatus('done');
    row.setMessage(
      result.variants.length ? (earlier ? 'Uploaded earlier from this browser.' : '') : 'Processed, but no sizes were produced.',
      'info',
    );
    row.showVariants(result.variants, result.placeholder);
    run.announce(`${row.name} is ready in ${plural(result.variants.length, 'size')}.`);
    if (run.session) run.onReady();
  } else if (result.status === 'failed') {
    // The service gave up (not the image's fault); an operator's replay may still finish it.
    const message = (result.error && result.error.message) || 'Processing failed.';
    row.setStatus('error');
    row.setMessage(`${message} You can check again later.`, 'error');
    row.setAction('Check again', () => waitForResult(run, row, id));
    run.announce(`${row.name}: ${message}`);
  } else {
    const message = (result.error && result.error.message) || 'The image could not be processed.';
    row.setStatus('rejected');
    row.setMessage(message, 'error');
    run.announce(`${row.name} was rejected. ${message}`);
  }
}

/**
 * context: {config, client, session, history, announce} (see main.js).
 * elements: {list, summary, filesSection, clearButton, dropZone}.
 * onReady(): an upload finished processing (the gallery lists it). poll: test overrides.
 */
export function createUploads(context, elements, { onReady = () => {}, poll = {} } = {}) {
  const { config, history, announce } = context;
  const run = { ...context, onReady, polling: { ...POLL, ...poll }, resumeStore: context.resumeStore || createResumeStore() };
  const limit = createLimiter(UPLOAD_CONCURRENCY);
  const rows = createRowList(elements, context);

  async function startRow(row, contentType) {
    row.setStatus('queued');
    row.setMessage('');
    let id;
    try {
      id = await limit(() => uploadOne(run, row, contentType));
    } catch (error) {
      if (error instanceof AbortError || error.kind === 'aborted') {
        stopped(row, contentType);
        return;
      }
      row.setStatus('error');
      row.setMessage(error.message, 'error');
      announce(`${row.name} could not be uploaded. ${error.message}`);
      if (isRetryable(error)) row.setAction('Try again', () => startRow(row, contentType));
      return;
    }
    await waitForResult(run, row, id);
  }

  /** A multipart upload stopped by the person: cancelled (aborted) or paused (resumable). */
  function stopped(row, contentType) {
    if (row.cancelled) {
      row.setStatus('cancelled');
      row.setMessage('Upload cancelled. Nothing of this file was kept.', 'info');
      announce(`${row.name}: upload cancelled.`);
      return;
    }
    row.setStatus('paused');
    row.setMessage('Paused. Uploaded parts are kept for a day; resume here, or pick the same file again after a reload.', 'info');
    announce(`${row.name}: upload paused.`);
    row.setAction('Resume', () => startRow(row, contentType));
    row.setCancel(() => {
      row.cancelled = true;
      row.multipart.cancel(run.resumeStore).then(
        () => stopped(row, contentType),
        (error) => row.setMessage(error.message, 'error'),
      );
    });
  }

  /** Check and upload the chosen files (a FileList or an array of File). */
  function addFiles(fileList) {
    const files = Array.from(fileList || []);
    if (files.length === 0) return;
    const refused = [];
    const accepted = [];
    for (const file of files) {
      const check = checkFile(file, config);
      const row = rows.add(file, check.contentType);
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

  /** The uploads this browser made before (newest first), each with its current status. */
  function showRemembered() {
    const entries = history.list();
    if (entries.length === 0) return;
    for (const entry of entries) {
      const row = rows.add({ name: entry.name, size: entry.size }, entry.contentType);
      row.setUploadId(entry.id);
      row.setForget(() => {
        rows.forget(row);
        announce(`${row.name} forgotten: this browser no longer lists it.`);
      });
      waitForResult(run, row, entry.id, { earlier: true });
    }
    announce(`${plural(entries.length, 'earlier upload')} from this browser listed below.`);
  }

  return {
    addFiles,
    showRemembered,
    /** Drop every row (sign-out: nothing of one user stays for the next). */
    forgetAll() {
      for (const row of rows.all()) rows.forget(row);
    },
    /** Drop the rows of one upload (it was deleted). */
    forgetUpload(id) {
      for (const row of rows.all()) if (row.root.dataset.uploadId === id) rows.forget(row);
    },
    /** True while a file is still queued or uploading (leaving the page would lose it). */
    busy() {
      return rows.all().some((r) => r.status === 'uploading' || r.status === 'queued');
    },
  };
}
