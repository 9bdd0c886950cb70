// How files reach the page (web/js/chooser.js) over a fake document: the button opens the
// input, "change" hands the files over, and files dropped anywhere are taken (or refused while
// choosing is disabled) instead of the browser opening them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { setChoosing, wireChooser } from '../../../web/js/chooser.js';
import { fakeEvent, installDocument } from './fake_dom.mjs';

function page({ ready = true } = {}) {
  const document = installDocument();
  const elements = {
    form: document.createElement('form'),
    input: document.createElement('input'),
    dropZone: document.createElement('button'),
    dropZoneText: document.createElement('span'),
  };
  const received = [];
  wireChooser(elements, { doc: document, onFiles: (files) => received.push(files), ready: () => ready });
  const drag = (type, fields = {}) =>
    document.dispatchEvent(fakeEvent(type, { dataTransfer: { types: ['Files'], files: ['f'], dropEffect: '' }, ...fields }));
  return { document, elements, received, drag };
}

test('the button opens the real input; "change" hands the files over and empties the input', () => {
  const p = page();
  let opened = 0;
  p.elements.input.addEventListener('click', () => (opened += 1));
  p.elements.dropZone.click();
  assert.equal(opened, 1);
  p.elements.input.files = ['a', 'b'];
  p.elements.input.value = 'C:\\fakepath\\a';
  p.elements.input.dispatchEvent(fakeEvent('change'));
  assert.deepEqual(p.received, [['a', 'b']]);
  assert.equal(p.elements.input.value, '', 'choosing the same file again fires "change" again');
  assert.equal(p.elements.form.dispatchEvent(fakeEvent('submit')).defaultPrevented, true);
});

test('dragging files over the page marks the drop zone until the last dragleave', () => {
  const p = page();
  p.drag('dragenter');
  p.drag('dragenter'); // entering a child element
  assert.equal(p.elements.dropZone.classList.contains('is-dragover'), true);
  assert.equal(p.elements.dropZoneText.textContent, 'Drop the images to upload them');
  p.drag('dragleave');
  assert.equal(p.elements.dropZone.classList.contains('is-dragover'), true);
  p.drag('dragleave');
  assert.equal(p.elements.dropZone.classList.contains('is-dragover'), false);
  assert.equal(p.elements.dropZoneText.textContent, 'Choose images');
});

test('dropped files are taken, and the browser does not open them', () => {
  const p = page();
  p.drag('dragenter');
  const over = p.drag('dragover');
  assert.equal(over.defaultPrevented, true);
  assert.equal(over.dataTransfer.dropEffect, 'copy');
  const drop = p.drag('drop');
  assert.equal(drop.defaultPrevented, true);
  assert.deepEqual(p.received, [['f']]);
  assert.equal(p.elements.dropZone.classList.contains('is-dragover'), false);
});

test('while choosing is disabled (or the settings are not loaded) a drop is refused', () => {
  const p = page({ ready: false });
  assert.equal(p.drag('dragover').dataTransfer.dropEffect, 'none');
  const q = page();
  setChoosing(q.elements, false);
  assert.equal(q.elements.input.disabled, true);
  assert.equal(q.drag('dragover').dataTransfer.dropEffect, 'none');
  assert.equal(q.drag('drop').defaultPrevented, true, 'still not opened by the browser');
  assert.deepEqual(q.received, []);
  setChoosing(q.elements, true);
  q.drag('drop');
  assert.deepEqual(q.received, [['f']]);
});

test('dragging something other than files (text, links) is left to the browser', () => {
  const p = page();
  const text = { dataTransfer: { types: ['text/plain'], files: [] } };
  assert.equal(p.drag('dragenter', text).defaultPrevented, false);
  assert.equal(p.drag('drop', text).defaultPrevented, false);
  assert.equal(p.elements.dropZone.classList.contains('is-dragover'), false);
  assert.deepEqual(p.received, []);
});
