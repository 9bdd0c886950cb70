// The API as the page's features call it: every call carries the signed-in session's ID token
// (when there is a session), and the calls that end a session on a 401 say so. No DOM here.
import * as http from './api.js';

/**
 * client for config.apiUrl. session: the signed-in session (auth.js) or null without sign-in.
 * api: the functions of api.js (tests pass their own).
 */
export function createClient({ apiUrl, session = null, api = http }) {
  /** What every API call carries: the ID token when signed in. */
  async function options() {
    return session ? { token: await session.idToken() } : {};
  }

  /** A 401 from the API ends the session (the token was refused or revoked). */
  function refused(error) {
    if (session && error && error.status === 401) session.expired();
    return error;
  }

  return {
    refused,

    async createUpload(request) {
      try {
        return await api.createUpload(apiUrl, request, await options());
      } catch (error) {
        throw refused(error);
      }
    },

    putFile(upload, file, { onProgress } = {}) {
      return api.putFile(upload, file, { onProgress });
    },

    // The multipart path (multipart.js): a 401 ends the session like any other call.
    async grantParts(id, parts, { signal } = {}) {
      try {
        return await api.grantParts(apiUrl, id, parts, { ...(await options()), signal });
      } catch (error) {
        throw refused(error);
      }
    },

    async listParts(id, { signal } = {}) {
      try {
        return await api.listParts(apiUrl, id, { ...(await options()), signal });
      } catch (error) {
        throw refused(error);
      }
    },

    async completeUpload(id) {
      try {
        return await api.completeUpload(apiUrl, id, await options());
      } catch (error) {
        throw refused(error);
      }
    },

    async abortUpload(id) {
      try {
        return await api.abortUpload(apiUrl, id, await options());
      } catch (error) {
        throw refused(error);
      }
    },

    putPart(grant, blob, { signal } = {}) {
      return api.putPart(grant, blob, { signal });
    },

    /** A poll's 401 does not end the session here: the row shows it and offers "Check again". */
    async getStatus(id) {
      return api.getStatus(apiUrl, id, await options());
    },

    /** The caller decides about a 401 (only a listing of the current session may end it). */
    async listUploads({ limit, cursor, signal }) {
      return api.listUploads(apiUrl, { ...(await options()), limit, cursor, signal });
    },

    async deleteUpload(id) {
      try {
        return await api.deleteUpload(apiUrl, id, await options());
      } catch (error) {
        throw refused(error);
      }
    },
  };
}
