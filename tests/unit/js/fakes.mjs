// Small fakes the page's node tests share: a Web Storage, an unsigned ID token and a promise
// the test settles by hand.

/** A Storage (localStorage/sessionStorage) over a plain object the test can read as `.data`. */
export function fakeStorage(initial = {}) {
  const data = { ...initial };
  return {
    data,
    getItem: (key) => (key in data ? data[key] : null),
    setItem: (key, value) => {
      data[key] = String(value);
    },
    removeItem: (key) => {
      delete data[key];
    },
  };
}

/** A JWT with these claims; the page only decodes tokens, so the signature is a placeholder. */
export function token(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part(claims)}.sig`;
}

/** A promise with its resolve and reject, so a test decides when an answer arrives. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
