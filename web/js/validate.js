// Pure checks (no DOM, no network): config.json shape and per-file checks done in the
// browser before any request is made.
import { formatBytes, listTypes, typeLabel } from './format.js';

export class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

// Used only when the browser does not know a file's type (file.type === "").
const EXTENSION_TYPES = Object.freeze({
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  jfif: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heic: 'image/heic',
  heif: 'image/heif',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
});

function isPositiveInteger(value) {
  return Number.isSafeInteger(value) && value > 0;
}

/**
 * Validate and normalise the parsed config.json.
 * Returns a frozen {apiUrl, maxBytes, allowedTypes, variants}; throws ConfigError listing
 * every problem found.
 */
export function parseConfig(raw) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config.json must contain a JSON object.');
  }
  const problems = [];

  let apiUrl = '';
  if (typeof raw.apiUrl !== 'string' || raw.apiUrl.trim() === '') {
    problems.push('"apiUrl" must be a non-empty string');
  } else {
    try {
      const url = new URL(raw.apiUrl.trim());
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        problems.push('"apiUrl" must be an http or https address');
      } else if (url.search || url.hash) {
        problems.push('"apiUrl" must not contain a query string or fragment');
      } else {
        apiUrl = url.href.replace(/\/+$/, '');
      }
    } catch {
      problems.push('"apiUrl" must be an absolute address such as https://api.example.com/prod');
    }
  }

  if (!isPositiveInteger(raw.maxBytes)) {
    problems.push('"maxBytes" must be a positive whole number');
  }

  let allowedTypes = [];
  if (!Array.isArray(raw.allowedTypes) || raw.allowedTypes.length === 0) {
    problems.push('"allowedTypes" must be a non-empty list of MIME types');
  } else {
    allowedTypes = raw.allowedTypes.map((t) => (typeof t === 'string' ? t.trim().toLowerCase() : ''));
    if (allowedTypes.some((t) => !MIME_RE.test(t))) {
      problems.push('"allowedTypes" must only contain MIME types such as "image/jpeg"');
    }
  }

  const rules = parseVariantRules(raw.variantRules, problems);
  let variants = [];
  if (!Array.isArray(raw.variants)) {
    problems.push('"variants" must be a list');
  } else {
    variants = raw.variants.map((v) => ({
      name: v && typeof v.name === 'string' ? v.name : '',
      maxEdge: v ? v.maxEdge : undefined,
      formats: v && Array.isArray(v.formats) ? v.formats.map((f) => (typeof f === 'string' ? f : '')) : null,
    }));
    if (rules) problems.push(...variantProblems(variants, rules));
  }

  const auth = parseAuth(raw.auth, problems);
  const delivery = parseDelivery(raw.delivery, problems);

  if (problems.length > 0) {
    throw new ConfigError(`config.json is not valid: ${problems.join('; ')}.`);
  }
  return Object.freeze({
    apiUrl,
    maxBytes: raw.maxBytes,
    allowedTypes: Object.freeze([...new Set(allowedTypes)]),
    variants: Object.freeze(variants.map((v) => Object.freeze(v))),
    auth,
    delivery,
  });
}

const DELIVERY_MODES = ['public', 'signed', 'presigned'];

/**
 * What the image links are: {mode, ttlSeconds}. "public": permanent distribution URLs;
 * "signed": CloudFront-signed for ttl_seconds; "presigned": S3 presigned for ttl_seconds.
 * Absent (a stack from before delivery modes): presigned, lifetime unknown (null).
 */
export function parseDelivery(raw, problems) {
  if (raw === undefined || raw === null) return Object.freeze({ mode: 'presigned', ttlSeconds: null });
  if (typeof raw !== 'object' || !DELIVERY_MODES.includes(raw.mode)) {
    problems.push(`"delivery.mode" must be one of ${DELIVERY_MODES.join(', ')}`);
    return Object.freeze({ mode: 'presigned', ttlSeconds: null });
  }
  const ttl = raw.ttl_seconds;
  if (raw.mode !== 'public' && !isPositiveInteger(ttl)) {
    problems.push('"delivery.ttl_seconds" must be a positive whole number of seconds for signed links');
  }
  return Object.freeze({ mode: raw.mode, ttlSeconds: isPositiveInteger(ttl) ? ttl : null });
}

/**
 * Sign-in settings: absent or mode "none" is the anonymous page; mode "cognito" needs the
 * Cognito endpoint and the public app client id.
 */
export function parseAuth(raw, problems) {
  if (raw === undefined || raw === null || (raw && raw.mode === 'none')) return Object.freeze({ mode: 'none' });
  if (typeof raw !== 'object' || raw.mode !== 'cognito') {
    problems.push('"auth.mode" must be "none" or "cognito"');
    return Object.freeze({ mode: 'none' });
  }
  let endpoint = '';
  try {
    const url = new URL(String(raw.endpoint || ''));
    if (url.protocol === 'https:' || url.protocol === 'http:') endpoint = url.href;
  } catch {
    // reported below
  }
  if (!endpoint) problems.push('"auth.endpoint" must be the http(s) address of the sign-in service');
  if (typeof raw.clientId !== 'string' || !/^[A-Za-z0-9_+-]{1,128}$/.test(raw.clientId)) {
    problems.push('"auth.clientId" must be the app client id');
  }
  return Object.freeze({
    mode: 'cognito',
    endpoint,
    clientId: raw.clientId,
    userPoolId: typeof raw.userPoolId === 'string' ? raw.userPoolId : '',
    selfSignUp: raw.selfSignUp === true,
    passwordMinLength: Number.isSafeInteger(raw.passwordMinLength) ? raw.passwordMinLength : 12,
  });
}

/**
 * The variant rules config.json carries (Terraform copies them from the rule set both functions
 * use, lambda_src/common/rules.json), or null after recording why they are unusable.
 */
function parseVariantRules(raw, problems) {
  const isRange = (r) => r && Number.isSafeInteger(r.min) && Number.isSafeInteger(r.max);
  if (
    !raw ||
    typeof raw.namePattern !== 'string' ||
    !isRange(raw.maxEdge) ||
    !isRange(raw.count) ||
    !isRange(raw.perVariant) ||
    !Array.isArray(raw.formats)
  ) {
    problems.push('"variantRules" must give namePattern, maxEdge, count, perVariant and formats');
    return null;
  }
  try {
    return { ...raw, name: new RegExp(raw.namePattern) };
  } catch {
    problems.push('"variantRules.namePattern" is not a valid pattern');
    return null;
  }
}

/** Every way `variants` breaks `rules` (the same checks as variables.tf and the processor). */
export function variantProblems(variants, rules) {
  const problems = [];
  if (variants.length < rules.count.min || variants.length > rules.count.max) {
    problems.push(`"variants" must have ${rules.count.min} to ${rules.count.max} entries`);
  }
  variants.forEach((v, i) => {
    if (!rules.name.test(v.name)) problems.push(`variant ${i + 1} needs a "name" matching ${rules.namePattern}`);
    if (!Number.isSafeInteger(v.maxEdge) || v.maxEdge < rules.maxEdge.min || v.maxEdge > rules.maxEdge.max) {
      problems.push(`variant ${i + 1} needs a whole "maxEdge" from ${rules.maxEdge.min} to ${rules.maxEdge.max}`);
    }
    problems.push(...formatProblems(v.formats, rules).map((problem) => `variant ${i + 1} ${problem}`));
  });
  if (new Set(variants.map((v) => v.name)).size !== variants.length) problems.push('variant names must be unique');
  return problems;
}

/** Every way one variant's ordered `formats` list breaks `rules` (names only: config.json
 * carries no quality or effort). */
function formatProblems(formats, rules) {
  const { min, max } = rules.perVariant;
  if (!Array.isArray(formats) || formats.length < min || formats.length > max) {
    return [`needs a "formats" list of ${min} to ${max} formats`];
  }
  const problems = [];
  if (formats.some((f) => !rules.formats.includes(f))) problems.push(`needs "formats" from ${rules.formats.join(', ')}`);
  if (new Set(formats).size !== formats.length) problems.push('lists a format twice');
  return problems;
}

/**
 * The file input's accept list: the allowed MIME types and their extensions, so that pickers
 * which do not know a type (HEIC and AVIF on many systems) still offer those files.
 */
export function acceptList(allowedTypes) {
  const extensions = Object.entries(EXTENSION_TYPES)
    .filter(([, type]) => allowedTypes.includes(type))
    .map(([extension]) => `.${extension}`);
  return [...allowedTypes, ...extensions].join(',');
}

/** Lower-case extension of a file name, without the dot ("" if none). */
export function extensionOf(name) {
  const match = /\.([^./\\]+)$/.exec(String(name || ''));
  return match ? match[1].toLowerCase() : '';
}

/** The MIME type the upload will declare: the browser's, or a guess from the extension. */
export function contentTypeOf(file) {
  const declared = String(file.type || '').trim().toLowerCase();
  if (declared) return declared;
  return EXTENSION_TYPES[extensionOf(file.name)] || '';
}

/**
 * Check one file ({name, size, type}) against the config before calling the API.
 * Returns {ok: true, contentType} or {ok: false, reason} with a sentence for people.
 */
export function checkFile(file, config) {
  const contentType = contentTypeOf(file);
  const allowed = listTypes(config.allowedTypes);
  if (!contentType || !config.allowedTypes.includes(contentType)) {
    const what = contentType
      ? `This type of file (${typeLabel(contentType)}) cannot be uploaded.`
      : 'This type of file cannot be uploaded.';
    return { ok: false, contentType, reason: `${what} Choose a ${allowed} image.` };
  }
  if (!Number.isFinite(file.size) || file.size <= 0) {
    return { ok: false, contentType, reason: 'This file is empty. Choose an image that has content.' };
  }
  if (file.size > config.maxBytes) {
    return {
      ok: false,
      contentType,
      reason: `This file is ${formatBytes(file.size)}. Images must be ${formatBytes(config.maxBytes)} or smaller.`,
    };
  }
  return { ok: true, contentType };
}
