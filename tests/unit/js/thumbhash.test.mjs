// The page's ThumbHash decoder against hashes made by the processor's encoder
// (tests/unit/test_placeholder.py checks that Python still encodes these exact strings).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { base64Bytes, thumbHashAspectRatio, thumbHashToRGBA } from '../../../web/js/thumbhash.js';
import { placeholderOf } from '../../../web/js/api.js';

// 64x32: left half red (220, 20, 20), right half blue (20, 40, 200).
const RED_BLUE = '1bYCrKJMa6qMiIiFiI+PiPiIeA==';
// 40x40: a green disc on transparency.
const GREEN_DISC = 'FZqABQA3B9iHeICN1/h4f3AIB1iHiICJWA==';

function pixel({ w, rgba }, x, y) {
  const i = (y * w + x) * 4;
  return [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]];
}

test('a red-blue landscape decodes red on the left, blue on the right, twice as wide', () => {
  const hash = base64Bytes(RED_BLUE);
  assert.ok(Math.abs(thumbHashAspectRatio(hash) - 2) < 0.5);
  const image = thumbHashToRGBA(hash);
  assert.equal(image.w, 32);
  assert.ok(image.h >= 14 && image.h <= 18, `height ${image.h}`);
  const [r1, , b1, a1] = pixel(image, 3, image.h >> 1);
  const [r2, , b2] = pixel(image, image.w - 4, image.h >> 1);
  assert.ok(r1 > 150 && b1 < 100, `left ${r1},${b1}`);
  assert.ok(b2 > 130 && r2 < 100, `right ${r2},${b2}`);
  assert.equal(a1, 255);
});

test('alpha survives: the disc is opaque in the middle and transparent in the corners', () => {
  const image = thumbHashToRGBA(base64Bytes(GREEN_DISC));
  const centre = pixel(image, image.w >> 1, image.h >> 1);
  const corner = pixel(image, 0, 0);
  assert.ok(centre[3] > 200 && centre[1] > 120, `centre ${centre}`);
  assert.ok(corner[3] < 80, `corner ${corner}`);
});

test('placeholders from the API are checked before use', () => {
  assert.deepEqual(placeholderOf({ thumbhash: RED_BLUE, color: '#dc1414', aspectRatio: 2 }), {
    thumbhash: RED_BLUE,
    color: '#dc1414',
    aspectRatio: 2,
  });
  assert.equal(placeholderOf(null), null);
  assert.equal(placeholderOf({ thumbhash: '<script>' }), null);
  assert.deepEqual(placeholderOf({ thumbhash: RED_BLUE, color: 'red;x', aspectRatio: -1 }), {
    thumbhash: RED_BLUE,
    color: '',
    aspectRatio: null,
  });
  assert.equal(base64Bytes('%%%'), null);
});
