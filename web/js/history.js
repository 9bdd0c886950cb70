// This browser's uploads, remembered across reloads in localStorage: ids and what the list
// shows (name, size, type, time). Nothing else leaves the page; the status always comes from
// the API. Pure apart from the storage object it is given, so it is unit-tested with a fake.

const KEY = 'sip.uploads.v1';
const MAX_ENTRIES = 50;
const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function isEntry(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.id === 'string' &&
    ID_RE.test(value.id) &&
    typeof value.name === 'string' &&
    Number.isSafeInteger(value.size) &&
    typeof value.contentType === 'string' &&
    Number.isFinite(value.at)
  );
}

/**
 * A history over `storage` (window.localStorage or a stand-in). Storage that is missing,
 * full, blocked or holding garbage never breaks the page: the history is then just empty.
 */
export function createHistory(storage, { key = KEY, maxEntries = MAX_ENTRIES } = {}) {
  function read() {
    try {
      const parsed = JSON.parse(storage.getItem(key) || '[]');
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return [];
    }
  }
  function write(entries) {
    try {
      storage.setItem(key, JSON.stringify(entries.slice(0, maxEntries)));
    } catch {
      // private mode or quota: the current page still works, it only forgets on reload
    }
  }
  return {
    /** Newest first. */
    list: () => read(),
    remember(entry) {
      const clean = { ...entry, name: String(entry.name).slice(0, 255), at: entry.at ?? Date.now() };
      if (!isEntry(clean)) return;
      write([clean, ...read().filter((e) => e.id !== clean.id)]);
    },
    forget(id) {
      write(read().filter((e) => e.id !== id));
    },
    forgetAll() {
      write([]);
    },
  };
}
