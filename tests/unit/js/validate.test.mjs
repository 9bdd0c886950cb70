// Unit tests for the page's pure modules: node --test tests/unit/js/
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkFile, ConfigError, contentTypeOf, extensionOf, parseConfig } from '../../../web/js/validate.js';

const RAW = {
  apiUrl: 'http://127.0.0.1:4566/_aws/execute-api/abc123/prod/',
  maxBytes: 20971520,
  allowedTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'],
  variants: [
    { name: 'large', maxEdge: 1024, formats: ['avif', 'jpeg'] },
    { name: 'thumb', maxEdge: 128, formats: ['webp'] },
  ],
  variantRules: {
    namePattern: '^[a-z0-9][a-z0-9_-]{0,31}$',
    maxEdge: { min: 16, max: 8192 },
    count: { min: 1, max: 10 },
    formats: ['jpeg', 'png', 'webp', 'avif'],
    perVariant: { min: 1, max: 4 },
  },
};
const config = parseConfig(RAW);

test('parseConfig normalises a valid config and strips the trailing slash', () => {
  assert.equal(config.apiUrl, 'http://127.0.0.1:4566/_aws/execute-api/abc123/prod');
  assert.equal(config.maxBytes, 20971520);
  assert.deepEqual([...config.allowedTypes], RAW.allowedTypes);
  assert.equal(config.variants[1].maxEdge, 128);
  assert.ok(Object.isFrozen(config));
});

test('parseConfig lists every problem at once', () => {
  assert.throws(
    () => parseConfig({ ...RAW, apiUrl: 'not a url', maxBytes: -1, allowedTypes: [], variants: [{ name: '' }] }),
    ConfigError,
  );
  try {
    parseConfig({ ...RAW, apiUrl: 'not a url', maxBytes: -1, allowedTypes: [], variants: [{ name: '' }] });
  } catch (e) {
    for (const word of ['apiUrl', 'maxBytes', 'allowedTypes', 'name', 'maxEdge']) assert.match(e.message, new RegExp(word));
  }
});

test('parseConfig rejects non-objects and non-http urls', () => {
  for (const raw of [null, [], 'x', 3]) assert.throws(() => parseConfig(raw), ConfigError);
  assert.throws(() => parseConfig({ ...RAW, apiUrl: 'javascript:alert(1)' }), /http or https/);
  assert.throws(() => parseConfig({ ...RAW, apiUrl: '/relative' }), /absolute/);
  assert.throws(() => parseConfig({ ...RAW, maxBytes: 1.5 }), /maxBytes/);
  assert.throws(() => parseConfig({ ...RAW, allowedTypes: ['jpeg'] }), /MIME/);
});

test('extensionOf and contentTypeOf', () => {
  assert.equal(extensionOf('Cat.PHOTO.JPG'), 'jpg');
  assert.equal(extensionOf('noext'), '');
  assert.equal(contentTypeOf({ name: 'a.png', type: 'IMAGE/PNG' }), 'image/png');
  assert.equal(contentTypeOf({ name: 'a.jpeg', type: '' }), 'image/jpeg');
  assert.equal(contentTypeOf({ name: 'a.xyz', type: '' }), '');
});

test('checkFile accepts an allowed image within the limit', () => {
  assert.deepEqual(checkFile({ name: 'a.jpg', type: 'image/jpeg', size: 1000 }, config), {
    ok: true,
    contentType: 'image/jpeg',
  });
  assert.equal(checkFile({ name: 'a.jpg', type: 'image/jpeg', size: 20971520 }, config).ok, true);
});

test('checkFile refuses too large, empty and wrong-type files with a reason', () => {
  const big = checkFile({ name: 'a.jpg', type: 'image/jpeg', size: 20971521 }, config);
  assert.equal(big.ok, false);
  assert.match(big.reason, /20 MB or smaller/);
  const empty = checkFile({ name: 'a.jpg', type: 'image/jpeg', size: 0 }, config);
  assert.match(empty.reason, /empty/);
  const text = checkFile({ name: 'notes.txt', type: 'text/plain', size: 10 }, config);
  assert.equal(text.ok, false);
  assert.match(text.reason, /text\/plain/);
  assert.match(text.reason, /JPEG, PNG, WebP or GIF/);
  const unknown = checkFile({ name: 'blob', type: '', size: 10 }, config);
  assert.match(unknown.reason, /cannot be uploaded/);
});

test('parseConfig checks variants with the rules config.json carries', () => {
  assert.throws(() => parseConfig({ ...RAW, variants: [{ name: '_thumb', maxEdge: 128, formats: ['webp'] }] }), /name/);
  assert.throws(() => parseConfig({ ...RAW, variants: [{ name: 'x', maxEdge: 8193, formats: ['webp'] }] }), /maxEdge/);
  assert.throws(() => parseConfig({ ...RAW, variants: [{ name: 'x', maxEdge: 64, formats: ['gif'] }] }), /formats/);
  assert.throws(() => parseConfig({ ...RAW, variants: [{ name: 'x', maxEdge: 64, formats: [] }] }), /formats/);
  assert.throws(() => parseConfig({ ...RAW, variants: [{ name: 'x', maxEdge: 64, formats: ['jpeg', 'jpeg'] }] }), /twice/);
  assert.throws(() => parseConfig({ ...RAW, variants: [{ name: 'x', maxEdge: 64, format: 'jpeg' }] }), /formats/);
  assert.throws(() => parseConfig({ ...RAW, variantRules: undefined }), /variantRules/);
});

test('parseConfig reads what the image links are (delivery), presigned when absent', () => {
  assert.deepEqual({ ...config.delivery }, { mode: 'presigned', ttlSeconds: null });
  const signed = parseConfig({ ...RAW, delivery: { mode: 'signed', ttl_seconds: 3600 } });
  assert.deepEqual({ ...signed.delivery }, { mode: 'signed', ttlSeconds: 3600 });
  const open = parseConfig({ ...RAW, delivery: { mode: 'public', ttl_seconds: null } });
  assert.deepEqual({ ...open.delivery }, { mode: 'public', ttlSeconds: null });
  assert.throws(() => parseConfig({ ...RAW, delivery: { mode: 'cdn' } }), /delivery.mode/);
  assert.throws(() => parseConfig({ ...RAW, delivery: { mode: 'presigned', ttl_seconds: 0 } }), /ttl_seconds/);
});
