// "My images" (with sign-in): the signed-in user's uploads, one page at a time, each with a
// Delete button. Listings go through the session scope (session_scope.js), so a listing of
// one session is never drawn for the next. Everything it needs comes in the context (main.js).
import { formatBytes, plural } from './format.js';
import { createGalleryLoader } from './session_scope.js';
import { el, pictureOf, showPageError, STATUS_LABELS } from './ui.js';

const GALLERY_PAGE = 12;

/**
 * The smallest size at least 200 px wide (else the largest) to show in the list, drawn through
 * <picture> with its formats; of an animated upload, only its animated sizes (so the list plays
 * it), when there are any.
 */
export function galleryImage(upload) {
  const shown = upload.variants.filter((v) => v.sources.length);
  const moving = shown.filter((v) => v.animated);
  const ordered = [...(moving.length ? moving : shown)].sort((a, b) => a.width - b.width);
  return ordered.find((v) => v.width >= 200) || ordered[ordered.length - 1] || null;
}

/** "Animated, 12 frames, 2.4 s" for an upload's {frames, durationMs}. */
export function animationLabel({ frames, durationMs }) {
  const seconds = Math.round(durationMs / 100) / 10;
  return `Animated, ${frames} frames, ${seconds} s`;
}

/**
 * context: {client, session, scope, announce} (see main.js).
 * elements: {section, list, summary, more, refresh, errorBox}.
 * onDeleted(id): an upload was deleted (the file list drops its rows).
 */
export function createGallery(context, elements, { onDeleted = () => {} } = {}) {
  const { client, session, scope, announce } = context;

  const loader = createGalleryLoader({
    scope,
    list: ({ cursor, signal }) => client.listUploads({ limit: GALLERY_PAGE, cursor, signal }),
    draw: (uploads, { more, hasMore }) => {
      const items = uploads.map(galleryItem);
      if (more) elements.list.append(...items);
      else elements.list.replaceChildren(...items);
      elements.more.hidden = !hasMore;
      updateSummary();
    },
    failed: (error) => {
      client.refused(error);
      if (session.current) elements.summary.textContent = `Your images could not be listed. ${error.message}`;
    },
  });

  function galleryItem(upload) {
    const name = upload.fileName || 'Untitled image';
    const item = el('li', { className: 'gallery__item', attrs: { 'data-upload-id': upload.id } });
    const size = upload.status === 'done' ? galleryImage(upload) : null;
    if (size) {
      item.append(pictureOf(size, { className: 'gallery__image', alt: name, loading: 'lazy' }));
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
      upload.animation ? animationLabel(upload.animation) : '',
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
      await client.deleteUpload(upload.id);
    } catch (error) {
      button.disabled = false;
      showPageError(elements.errorBox, `${name} could not be deleted`, error.message);
      return;
    }
    const next = item.nextElementSibling || item.previousElementSibling;
    item.remove();
    onDeleted(upload.id);
    updateSummary();
    announce(`${name} deleted, with all its sizes.`);
    const focusTarget = next ? next.querySelector('button') : elements.refresh;
    if (focusTarget) focusTarget.focus();
  }

  function updateSummary() {
    const count = elements.list.children.length;
    elements.summary.textContent = count
      ? `${plural(count, 'image')}${loader.cursor ? ' so far' : ''}.`
      : 'You have not uploaded any images yet.';
  }

  /** List "My images" (the next page with more), tied to the session it starts in. */
  function load({ more = false } = {}) {
    if (!session.current) return Promise.resolve();
    return loader.load({ more });
  }

  elements.refresh.addEventListener('click', () => load());
  elements.more.addEventListener('click', () => load({ more: true }));

  return {
    load,
    /** Show or hide the section; hiding it (signed out) empties it. */
    show(visible) {
      elements.section.hidden = !visible;
      if (visible) return;
      elements.list.replaceChildren();
      elements.summary.textContent = '';
      elements.more.hidden = true;
    },
  };
}
