// Network layer: the image API (fetch) and the presigned upload (XMLHttpRequest, for upload
// progress). Every failure becomes an ApiError whose message can be shown to people as-is.

export class ApiError extends Error {
  /**
   * kind: "network" (no answer), "http" (API answered with an error), "storage" (the presigned
   * upload was refused), "response" (an answer we cannot use), "aborted".
   */
  constructor(message, { kind, status = 0, code = '' } = {}) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

const NETWORK_MESSAGE =
  'Could not reach the image service. Check your internet connection and try again.';

/** Fallback sentence for an API error status when the body carries no message. */
export function statusMessage(status) {
  if (status === 400) return 'The image service could not understand the request (HTTP 400).';
  if (status === 401) return 'Your session has ended. Sign in again.';
  if (status === 403) return 'The image service refused the request (HTTP 403).';
  if (status === 404) return 'The image service could not find what was asked for (HTTP 404).';
  if (status === 405) return 'The image service does not allow this request (HTTP 405).';
  if (status === 413) return 'This file is too large for the image service (HTTP 413).';
  if (status === 415) return 'The image service does not accept this type of file (HTTP 415).';
  if (status === 429) return 'The image service is busy (HTTP 429). Wait a moment and try again.';
  if (status >= 500) return `The image service had a problem (HTTP ${status}). Try again later.`;
  return `The image service answered with an unexpected status (HTTP ${status}).`;
}

/** Build an ApiError from an API error status and its (maybe JSON) body text. */
export function apiErrorFrom(status, bodyText) {
  let code = '';
  let message = '';
  try {
    const body = JSON.parse(bodyText);
    if (body && typeof body === 'object') {
      if (typeof body.error === 'string') code = body.error;
      if (typeof body.message === 'string') message = body.message.trim();
    }
  } catch {
    // Not JSON (e.g. a gateway's HTML page): fall back to a generic sentence.
  }
  return new ApiError(message || statusMessage(status), { kind: 'http', status, code });
}

/** Read S3's XML error body (<Error><Code>..</Code><Message>..</Message></Error>) without a DOM. */
export function parseStorageError(xmlText) {
  const text = String(xmlText || '');
  const pick = (tag) => {
    const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(text);
    return m
      ? m[1]
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&apos;/g, "'")
          .replace(/&amp;/g, '&')
          .trim()
      : '';
  };
  return { code: pick('Code'), message: pick('Message') };
}

/** Sentence for a refused presigned upload. */
export function storageErrorFrom(status, bodyText) {
  const { code, message } = parseStorageError(bodyText);
  let sentence;
  if (status === 403 && /expired/i.test(message)) {
    sentence = 'The upload link expired before the upload started.';
  } else if (status === 412 || code === 'PreconditionFailed') {
    sentence = 'A file was already uploaded with this link.';
  } else if (code === 'EntityTooLarge' || status === 413) {
    sentence = 'The storage service refused the file because it is too large.';
  } else {
    sentence = `The storage service refused the upload (HTTP ${status}${code ? `, ${code}` : ''}).`;
  }
  if (message && !sentence.includes(message)) sentence += ` ${message}`;
  return new ApiError(sentence, { kind: 'storage', status, code });
}

/** Only absolute http(s) addresses may end up in src/href. */
export function safeHttpUrl(value) {
  if (typeof value !== 'string' || value === '') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

async function requestJson(url, init, token) {
  let response;
  // With sign-in the ID token goes in Authorization (bare, as API Gateway's Cognito authorizer
  // reads it); never a cookie.
  const headers = { ...(init.headers || {}), ...(token ? { Authorization: token } : {}) };
  // No `cache` mode: the API marks every answer Cache-Control: no-store, and Chromium skips its
  // CORS preflight cache for a request whose cache mode is no-store, no-cache or reload, so one
  // would cost a preflight (a round trip) before every API call (bench/api_origin.py, docs/cdn.md).
  try {
    response = await fetch(url, { ...init, headers, credentials: 'omit' });
  } catch (error) {
    if (error && error.name === 'AbortError') throw new ApiError('Cancelled.', { kind: 'aborted' });
    throw new ApiError(NETWORK_MESSAGE, { kind: 'network' });
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw apiErrorFrom(response.status, text);
  if (response.status === 204) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('The image service sent an answer this page cannot read.', {
      kind: 'response',
      status: response.status,
    });
  }
}

function badResponse(what) {
  return new ApiError(`The image service sent an incomplete answer (${what}).`, { kind: 'response' });
}

/** POST {apiUrl}/uploads -> {id, uploadUrl, method, headers, expiresIn, maxBytes}. */
export async function createUpload(apiUrl, { contentType, size, filename }, { signal, token } = {}) {
  const body = await requestJson(
    `${apiUrl}/uploads`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ contentType, size, filename }),
      signal,
    },
    token,
  );
  if (!body || typeof body.id !== 'string' || body.id === '') throw badResponse('no upload id');
  if (body.method === 'MULTIPART') return multipartGrant(body);
  const uploadUrl = safeHttpUrl(body.uploadUrl);
  if (!uploadUrl) throw badResponse('no upload address');
  const headers = {};
  if (body.headers && typeof body.headers === 'object') {
    for (const [name, value] of Object.entries(body.headers)) {
      if (typeof value === 'string' || typeof value === 'number') headers[name] = String(value);
    }
  }
  return {
    id: body.id,
    uploadUrl,
    method: typeof body.method === 'string' && body.method ? body.method.toUpperCase() : 'PUT',
    headers,
    expiresIn: body.expiresIn,
    maxBytes: body.maxBytes,
  };
}

/** The start of a multipart upload: {id, method: 'MULTIPART', partSize, partCount, size, batchMax}. */
function multipartGrant(body) {
  const plan = body.multipart || {};
  const partSize = Number(plan.partSize);
  const partCount = Number(plan.partCount);
  const size = Number(plan.size);
  if (![partSize, partCount, size].every((n) => Number.isSafeInteger(n) && n > 0)) {
    throw badResponse('no part plan');
  }
  return { id: body.id, method: 'MULTIPART', partSize, partCount, size, batchMax: Number(body.batchMax) || 1 };
}

function partsUrl(apiUrl, id, suffix = 'parts') {
  return `${apiUrl}/uploads/${encodeURIComponent(id)}/${suffix}`;
}

/**
 * POST {apiUrl}/uploads/{id}/parts {parts: [{partNumber, size, sha256}]} -> one URL per part,
 * bound to its number, size and checksum: [{partNumber, url, headers}].
 */
export async function grantParts(apiUrl, id, parts, { signal, token } = {}) {
  const body = await requestJson(
    partsUrl(apiUrl, id),
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ parts }), signal },
    token,
  );
  if (!body || !Array.isArray(body.parts)) throw badResponse('no part addresses');
  return body.parts.map((part) => {
    const url = safeHttpUrl(part && part.url);
    if (!url) throw badResponse('no part address');
    const headers = {};
    for (const [name, value] of Object.entries((part && part.headers) || {})) {
      if (typeof value === 'string') headers[name] = value;
    }
    return { partNumber: Number(part.partNumber), url, headers };
  });
}

/** GET {apiUrl}/uploads/{id}/parts -> the parts S3 holds: {partSize, partCount, size, parts: [{partNumber, size, sha256}]}. */
export async function listParts(apiUrl, id, { signal, token } = {}) {
  const body = await requestJson(partsUrl(apiUrl, id), { method: 'GET', signal }, token);
  if (!body || !Array.isArray(body.parts)) throw badResponse('no list of parts');
  return {
    partSize: Number(body.partSize),
    partCount: Number(body.partCount),
    size: Number(body.size),
    parts: body.parts.map((p) => ({ partNumber: Number(p.partNumber), size: Number(p.size), sha256: String(p.sha256 || '') })),
  };
}

/** POST {apiUrl}/uploads/{id}/complete: the API checks the parts against its grants. */
export async function completeUpload(apiUrl, id, { signal, token } = {}) {
  return requestJson(partsUrl(apiUrl, id, 'complete'), { method: 'POST', signal }, token);
}

/** DELETE {apiUrl}/uploads/{id}/parts: cancel (S3 drops the parts). */
export async function abortUpload(apiUrl, id, { signal, token } = {}) {
  await requestJson(partsUrl(apiUrl, id), { method: 'DELETE', signal }, token);
}

/** GET {apiUrl}/uploads/{id} -> {id, status, variants (sizes with sources), error, placeholder, picture, animation}. */
export async function getStatus(apiUrl, id, { signal, token } = {}) {
  const body = await requestJson(`${apiUrl}/uploads/${encodeURIComponent(id)}`, { method: 'GET', signal }, token);
  return parseStatus(body, id);
}

/** GET {apiUrl}/uploads (sign-in only) -> {uploads: [status + fileName, bytes, createdAt], nextCursor}. */
export async function listUploads(apiUrl, { token, cursor, limit, signal } = {}) {
  const query = new URLSearchParams();
  if (limit) query.set('limit', String(limit));
  if (cursor) query.set('cursor', cursor);
  const suffix = query.toString() ? `?${query}` : '';
  const body = await requestJson(`${apiUrl}/uploads${suffix}`, { method: 'GET', signal }, token);
  if (!body || !Array.isArray(body.uploads)) throw badResponse('no list of uploads');
  const uploads = body.uploads.map((item) => ({
    ...parseStatus(item, ''),
    fileName: typeof item.fileName === 'string' ? item.fileName : '',
    bytes: Number(item.bytes) || 0,
    createdAt: typeof item.createdAt === 'string' ? item.createdAt : '',
  }));
  return { uploads, nextCursor: typeof body.nextCursor === 'string' ? body.nextCursor : null };
}

/** DELETE {apiUrl}/uploads/{id} (sign-in only): the original, its sizes and its record. */
export async function deleteUpload(apiUrl, id, { token, signal } = {}) {
  await requestJson(`${apiUrl}/uploads/${encodeURIComponent(id)}`, { method: 'DELETE', signal }, token);
}

export function parseStatus(body, id) {
  if (!body || !['processing', 'done', 'rejected', 'failed'].includes(body.status)) {
    throw badResponse('unknown status');
  }
  const variants = Array.isArray(body.variants) ? body.variants.map(sizeOf).filter((v) => v.sources.length) : [];
  const error =
    body.error && typeof body.error === 'object'
      ? { code: String(body.error.code || ''), message: String(body.error.message || '') }
      : null;
  return {
    id: String(body.id || id),
    status: body.status,
    variants,
    error,
    placeholder: placeholderOf(body.placeholder),
    picture: typeof body.picture === 'string' ? body.picture : '',
    animation: animationOf(body.animation),
  };
}

/** The status's animation {frames, durationMs, loop} (an animated upload), checked, or null. */
export function animationOf(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const [frames, durationMs, loop] = [raw.frames, raw.durationMs, raw.loop].map(Number);
  if (![frames, durationMs, loop].every(Number.isInteger) || frames < 2 || durationMs < 0 || loop < 0) return null;
  return { frames, durationMs, loop };
}

const IMAGE_TYPE = /^image\/[a-z0-9.+-]+$/;

/** One size of a done status: {name, width, height, animated, sources, picture}; sources in the
 * API's preference order, each {format, type, animated, bytes, url}, only those with an http(s)
 * URL; a size is animated when one of its sources is (an animated upload, issue 24). */
function sizeOf(raw) {
  const v = raw && typeof raw === 'object' ? raw : {};
  const sources = (Array.isArray(v.sources) ? v.sources : [])
    .map((s) => ({
      format: String((s && s.format) || ''),
      type: String((s && s.type) || ''),
      animated: Boolean(s && s.animated === true),
      bytes: Number(s && s.bytes),
      url: safeHttpUrl(s && s.url),
    }))
    .filter((s) => s.url && IMAGE_TYPE.test(s.type));
  return {
    name: String(v.name || 'image'),
    width: Number(v.width) || 0,
    height: Number(v.height) || 0,
    animated: sources.some((s) => s.animated),
    sources,
    picture: typeof v.picture === 'string' ? v.picture : '',
  };
}

/** The status's placeholder {thumbhash, color, aspectRatio}, checked, or null. */
export function placeholderOf(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.thumbhash !== 'string') return null;
  if (!/^[A-Za-z0-9+/]{7,120}={0,2}$/.test(raw.thumbhash)) return null;
  const color = /^#[0-9a-f]{6}$/i.test(String(raw.color || '')) ? String(raw.color) : '';
  const aspectRatio = Number(raw.aspectRatio);
  return { thumbhash: raw.thumbhash, color, aspectRatio: Number.isFinite(aspectRatio) && aspectRatio > 0 ? aspectRatio : null };
}

// Headers a page may not set (the browser adds them itself); setting them only logs errors.
const FORBIDDEN_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'connection', 'content-length', 'cookie', 'cookie2',
  'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'via',
]);

/**
 * Send the file to the presigned URL with exactly the headers the API asked for.
 * onProgress(loaded, total) is called from xhr.upload.onprogress when the length is known.
 */
export function putFile(upload, file, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || 'PUT', upload.uploadUrl, true);
    for (const [name, value] of Object.entries(upload.headers || {})) {
      if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(storageErrorFrom(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => {
      reject(
        new ApiError(
          'The upload was interrupted: the storage service could not be reached. Check your connection and try again.',
          { kind: 'network' },
        ),
      );
    };
    xhr.onabort = () => reject(new ApiError('Cancelled.', { kind: 'aborted' }));
    if (signal) {
      if (signal.aborted) {
        xhr.abort();
        return;
      }
      signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(file);
  });
}

/** PUT one part (a Blob) to its granted URL with its signed checksum header. */
export function putPart(grant, blob, { signal } = {}) {
  return putFile({ method: 'PUT', uploadUrl: grant.url, headers: grant.headers }, blob, { signal });
}
