// Work that belongs to one signed-in session. account.js resets the scope whenever the session
// changes (sign-in, sign-out, expiry): every request started before is aborted, and an answer
// that still arrives is dropped, so nothing of one user is drawn for the next. No DOM here.

/** A generation counter with an AbortController per generation. */
export function createSessionScope() {
  let generation = 0;
  let controller = new AbortController();
  const listeners = [];
  return {
    /** {generation, signal} of now: pass the signal to fetch, check the ticket on answer. */
    ticket() {
      return { generation, signal: controller.signal };
    },
    isCurrent(ticket) {
      return ticket.generation === generation;
    },
    /** The session changed: abort and disown everything started before. */
    reset() {
      generation += 1;
      controller.abort();
      controller = new AbortController();
      for (const listener of listeners) listener();
    },
    onReset(listener) {
      listeners.push(listener);
    },
  };
}

/**
 * "My images", one page at a time. list({cursor, signal}) -> {uploads, nextCursor};
 * draw(uploads, {more, hasMore}) replaces (more=false) or extends the list on the page;
 * failed(error) shows why a listing failed. Both are called only for the current session.
 */
export function createGalleryLoader({ scope, list, draw, failed }) {
  let cursor = null;
  let loading = null; // {ticket, promise} of the listing in flight

  scope.onReset(() => {
    cursor = null;
    loading = null;
  });

  async function run(ticket, more) {
    try {
      const page = await list({ cursor: more ? cursor : null, signal: ticket.signal });
      if (!scope.isCurrent(ticket)) return; // answered for a session that has ended
      cursor = page.nextCursor;
      draw(page.uploads, { more, hasMore: Boolean(cursor) });
    } catch (error) {
      if (scope.isCurrent(ticket)) failed(error);
    }
  }

  function load({ more = false } = {}) {
    if (loading && scope.isCurrent(loading.ticket)) return loading.promise;
    const ticket = scope.ticket();
    const promise = run(ticket, more).finally(() => {
      if (loading && loading.promise === promise) loading = null;
    });
    loading = { ticket, promise };
    return promise;
  }

  return {
    load,
    /** The next page's cursor of the current session (null: no more, or not listed yet). */
    get cursor() {
      return cursor;
    },
  };
}
