// Pure formatting helpers (no DOM, no network): safe to import from Node for unit tests.

const TYPE_LABELS = Object.freeze({
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/webp': 'WebP',
  'image/gif': 'GIF',
  'image/avif': 'AVIF',
  'image/heic': 'HEIC',
  'image/heif': 'HEIF',
  'image/tiff': 'TIFF',
  'image/bmp': 'BMP',
  'image/svg+xml': 'SVG',
});

/** Human label for a MIME type: "image/jpeg" -> "JPEG"; unknown types are returned as-is. */
export function typeLabel(mime) {
  if (!mime) return 'unknown type';
  const key = String(mime).toLowerCase();
  return TYPE_LABELS[key] || key;
}

/** "JPEG", "JPEG or PNG", "JPEG, PNG, WebP or GIF". */
export function listTypes(mimes) {
  const labels = [...new Set((mimes || []).map(typeLabel))];
  if (labels.length === 0) return '';
  if (labels.length === 1) return labels[0];
  return `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1]}`;
}

/**
 * Byte counts for people: 1024-based, one decimal below 10 units, unit names people know.
 * 0 -> "0 bytes", 1 -> "1 byte", 2048 -> "2 KB", 20971520 -> "20 MB", 1572864 -> "1.5 MB".
 */
export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return 'unknown size';
  if (n < 1024) return n === 1 ? '1 byte' : `${Math.round(n)} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  let text = value < 10 ? value.toFixed(1) : Math.round(value).toString();
  if (text.endsWith('.0')) text = text.slice(0, -2);
  // Rounding can produce "1024 KB": promote it.
  if (text === '1024' && unit < units.length - 1) {
    text = '1';
    unit += 1;
  }
  return `${text} ${units[unit]}`;
}

/** "1024 × 768 px" */
export function formatDimensions(width, height) {
  return `${width} × ${height} px`;
}

/** "large (1024 px), medium (512 px) and thumb (128 px)" from config variants. */
export function describeVariants(variants) {
  const parts = (variants || []).map((v) => `${v.name} (${v.maxEdge} px)`);
  if (parts.length === 0) return '';
  if (parts.length === 1) return parts[0];
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** "1 file" / "3 files" */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}
