// DOM rendering. Data from files and from the API is untrusted: it only ever goes into
// textContent or validated attributes, never into innerHTML.
import { formatBytes, formatDimensions, typeLabel } from './format.js';
import { drawThumbHash } from './thumbhash.js';

/** Create an element with attributes, classes and text. */
export function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === true) node.setAttribute(name, '');
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, String(value));
    }
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/**
 * Polite live-region announcer. Messages arriving close together are joined, so a screen
 * reader hears one sentence group instead of the last message only.
 */
export function createAnnouncer(region, delayMs = 300) {
  let pending = [];
  let timer = null;
  return function announce(message) {
    if (!message) return;
    pending.push(message);
    if (timer) return;
    timer = setTimeout(() => {
      region.textContent = pending.join(' ');
      pending = [];
      timer = null;
    }, delayMs);
  };
}

export const STATUS_LABELS = Object.freeze({
  queued: 'Waiting',
  refused: 'Not uploaded',
  uploading: 'Uploading',
  paused: 'Paused',
  cancelled: 'Cancelled',
  processing: 'Processing',
  done: 'Done',
  rejected: 'Rejected',
  error: 'Failed',
});

let rowCounter = 0;

/** One file in the list: name, size, status tag, progress, message, results. */
export class FileRow {
  constructor(list, file, contentType, onStatusChange = () => {}) {
    rowCounter += 1;
    this.onStatusChange = onStatusChange;
    const id = `file-${rowCounter}`;
    this.file = file;
    this.name = file.name || 'unnamed file';
    this.maxProgress = 0;

    this.statusTag = el('strong', { className: 'tag', attrs: { 'data-status-label': true } });
    this.percent = el('span', { className: 'file-row__percent', text: '0 %', attrs: { 'aria-hidden': 'true' } });
    this.progress = el('progress', { attrs: { id: `${id}-progress`, max: 100, value: 0 } });
    this.progressWrap = el('div', { className: 'file-row__progress' }, [
      el('label', {
        className: 'visually-hidden',
        text: `Upload progress for ${this.name}`,
        attrs: { for: `${id}-progress` },
      }),
      this.progress,
      this.percent,
    ]);
    this.message = el('p', { className: 'file-row__message', attrs: { 'data-message': true, hidden: true } });
    this.variants = el('ul', { className: 'variants', attrs: { hidden: true, 'aria-label': `Sizes of ${this.name}` } });
    this.actionButton = el('button', { className: 'button button--secondary button--small', attrs: { type: 'button', hidden: true } });
    this.forgetButton = el('button', {
      className: 'button button--secondary button--small',
      text: 'Forget',
      attrs: { type: 'button', hidden: true, 'aria-label': `Forget ${this.name}` },
    });
    this.cancelButton = el('button', {
      className: 'button button--secondary button--small',
      text: 'Cancel',
      attrs: { type: 'button', hidden: true, 'aria-label': `Cancel the upload of ${this.name}` },
    });
    this.cancelButton.addEventListener('click', () => {
      const handler = this.onCancel;
      this.setCancel(null);
      if (handler) handler();
    });
    this.forgetButton.addEventListener('click', () => this.onForget && this.onForget());
    this.actionButton.addEventListener('click', () => {
      const handler = this.onAction;
      this.setAction(null);
      if (handler) handler();
    });

    const details = [formatBytes(file.size), contentType ? typeLabel(contentType) : 'unknown type'].join(' · ');
    this.root = el('li', {
      className: 'file-row',
      attrs: { id, 'data-file-row': true, 'data-status': 'queued', 'data-progress-max': 0 },
    }, [
      el('div', { className: 'file-row__head' }, [
        el('div', { className: 'file-row__meta' }, [
          el('h3', { className: 'file-row__name', text: this.name }),
          el('p', { className: 'file-row__details', text: details }),
        ]),
        this.statusTag,
      ]),
      this.progressWrap,
      this.message,
      this.variants,
      el('div', { className: 'file-row__actions' }, [this.actionButton, this.forgetButton, this.cancelButton]),
    ]);
    list.append(this.root);
    this.setStatus('queued');
  }

  get status() {
    return this.root.dataset.status;
  }

  setStatus(status, label = STATUS_LABELS[status]) {
    this.root.dataset.status = status;
    this.statusTag.className = `tag tag--${status}`;
    this.statusTag.textContent = label;
    this.progressWrap.hidden = !['queued', 'uploading', 'paused', 'processing', 'error'].includes(status);
    if (status === 'error' && this.maxProgress === 0) this.progressWrap.hidden = true;
    this.onStatusChange(this);
  }

  setUploadId(id) {
    this.root.dataset.uploadId = id;
  }

  /** fraction in 0..1 from real progress events; data-progress-max keeps the highest seen. */
  setProgress(fraction, { fromEvent = true } = {}) {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 1000) / 10));
    this.progress.value = pct;
    this.percent.textContent = `${Math.floor(pct)} %`;
    if (fromEvent && pct > this.maxProgress) {
      this.maxProgress = pct;
      this.root.dataset.progressMax = String(pct);
    }
    if (this.status === 'uploading') this.statusTag.textContent = `Uploading ${Math.floor(pct)} %`;
  }

  setMessage(text, tone = 'info') {
    this.message.textContent = text || '';
    this.message.className = `file-row__message file-row__message--${tone}`;
    this.message.hidden = !text;
  }

  /** Show (label, handler) as the row's button, or hide it with setAction(null). */
  setAction(label, handler) {
    this.onAction = handler || null;
    this.actionButton.hidden = !label;
    this.actionButton.textContent = label || '';
  }

  /** Show a "Cancel" button that calls handler (a multipart upload in flight or paused). */
  setCancel(handler) {
    this.onCancel = handler || null;
    this.cancelButton.hidden = !handler;
  }

  /** Show a "Forget" button that calls handler (rows remembered from earlier visits). */
  setForget(handler) {
    this.onForget = handler;
    this.forgetButton.hidden = !handler;
  }

  /**
   * One card per size, drawn through <picture> (the browser picks the first format it reads),
   * with each format's bytes (a link to open it) and "Copy HTML" / "Copy link". `variants` are
   * api.js sizes: {name, width, height, animated, sources: [{format, type, animated, bytes, url}],
   * picture}. An animated size (an animated upload, issue 24) says so after its dimensions, and
   * so does each of its formats that animates.
   */
  showVariants(variants, placeholder = null) {
    this.variants.replaceChildren();
    for (const variant of variants) {
      const dims = formatDimensions(variant.width, variant.height);
      const picture = pictureOf(variant, {
        className: 'variant__image',
        alt: `${variant.name} size of ${this.name}, ${dims}`,
      });
      const img = picture.children[picture.children.length - 1];
      const frame = el('div', { className: 'variant__frame' }, [picture]);
      showPlaceholderUntilLoaded(frame, img, placeholder);
      const formats = el(
        'ul',
        { className: 'variant__formats', attrs: { 'aria-label': `Formats of the ${variant.name} size` } },
        variant.sources.map((source) => formatItem(source, `${variant.name} size of ${this.name}`)),
      );
      const status = el('p', { className: 'variant__copied', attrs: { role: 'status' } });
      const fallback = variant.sources[variant.sources.length - 1];
      const actions = el('div', { className: 'variant__actions' }, [
        copyButton('Copy HTML', `Copy the HTML of the ${variant.name} size`, variant.picture, 'HTML', status),
        copyButton('Copy link', `Copy the link to the ${variant.name} size (${typeLabel(fallback.type)})`, fallback.url, 'Link', status),
      ]);
      this.variants.append(
        el('li', { className: 'variant', attrs: { 'data-size': variant.name } }, [
          frame,
          el('div', { className: 'variant__caption' }, [
            el('p', { className: 'variant__name', text: variant.name }),
            el('p', { className: 'variant__facts', text: variant.animated ? `${dims} · animated` : dims }),
            formats,
            actions,
            status,
          ]),
        ]),
      );
    }
    this.variants.hidden = variants.length === 0;
  }

  remove() {
    this.root.remove();
  }
}

/**
 * <picture> for one size: a <source type srcset> per format but the last, in preference order,
 * then the <img> of the last one (the fallback every browser reads) with the size's width and
 * height, so the browser picks the first format it can decode. `img` holds the img attributes.
 */
export function pictureOf(size, { className, alt, loading } = {}) {
  const sources = size.sources;
  const fallback = sources[sources.length - 1];
  return el('picture', {}, [
    ...sources.slice(0, -1).map((source) => el('source', { attrs: { type: source.type, srcset: source.url } })),
    el('img', {
      className,
      attrs: {
        src: fallback.url,
        alt,
        width: size.width || null,
        height: size.height || null,
        loading,
        decoding: 'async',
        'data-variant': size.name,
      },
    }),
  ]);
}

/** "AVIF · 90 KB" ("· animated" when it animates), the format's name a link that opens it in a new tab. */
function formatItem(source, what) {
  const label = typeLabel(source.type);
  const link = el('a', {
    className: 'variant__link',
    text: label,
    attrs: { href: source.url, target: '_blank', rel: 'noopener noreferrer', 'data-format': source.format },
  }, [el('span', { className: 'visually-hidden', text: ` of the ${what} (opens in a new tab)` })]);
  const facts = [Number.isFinite(source.bytes) ? formatBytes(source.bytes) : '', source.animated ? 'animated' : ''];
  const text = facts.filter(Boolean).map((fact) => ` · ${fact}`).join('');
  return el('li', {}, [link, el('span', { text })]);
}

function copyButton(text, label, value, what, status) {
  const button = el('button', {
    className: 'button button--secondary button--small',
    text,
    attrs: { type: 'button', 'aria-label': label, hidden: !value },
  });
  button.addEventListener('click', async () => {
    status.textContent = (await copyText(value)) ? `${what} copied.` : `${what} could not be copied: your browser refused.`;
  });
  return button;
}

/** Put `text` on the clipboard; false when the browser has no clipboard or refuses. */
export async function copyText(text, clipboard = globalThis.navigator && globalThis.navigator.clipboard) {
  if (!clipboard || typeof clipboard.writeText !== 'function') return false;
  try {
    await clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * While `img` loads, show the upload's placeholder in `frame` (ThumbHash on a canvas over the
 * dominant colour, at the image's aspect ratio); the image replaces it once loaded.
 */
function showPlaceholderUntilLoaded(frame, img, placeholder) {
  if (!placeholder || typeof placeholder.thumbhash !== 'string' || img.complete) return;
  const canvas = el('canvas', { className: 'variant__placeholder', attrs: { 'aria-hidden': 'true', 'data-placeholder': '' } });
  if (/^#[0-9a-f]{6}$/i.test(placeholder.color || '')) canvas.style.backgroundColor = placeholder.color;
  if (Number.isFinite(placeholder.aspectRatio) && placeholder.aspectRatio > 0) canvas.style.aspectRatio = String(placeholder.aspectRatio);
  if (!drawThumbHash(canvas, placeholder.thumbhash)) return;
  img.hidden = true;
  frame.prepend(canvas);
  const reveal = () => {
    canvas.remove();
    img.hidden = false;
  };
  img.addEventListener('load', reveal, { once: true });
  img.addEventListener('error', reveal, { once: true });
}

/** Show a page-level problem (config missing, etc.) in the error box and focus it. */
export function showPageError(box, title, detail) {
  box.replaceChildren(
    el('h2', { className: 'error-summary__title', text: title }),
    el('p', { text: detail }),
  );
  box.hidden = false;
  box.focus();
}
