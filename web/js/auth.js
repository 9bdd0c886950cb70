// Sign-in with the deployment's Cognito user pool (config.json "auth", mode "cognito").
// The page talks to Cognito itself with the public app client: USER_PASSWORD_AUTH (over
// HTTPS), sign-up with an emailed code when the pool allows it, and refresh. Tokens live in
// sessionStorage only (gone when the tab closes, never in localStorage or a cookie) and are
// refreshed silently before they expire. No DOM here: main.js draws the forms.
//
// Every answer from Cognito belongs to the session generation it was asked in: signing out
// (or a refused refresh) starts a new generation, and an answer that arrives later is
// discarded, never stored, so a refresh in flight cannot bring a signed-out session back.

export class AuthError extends Error {
  /** code: Cognito's exception name, or "network" / "response" / "expired". */
  constructor(message, code = '') {
    super(message);
    this.name = 'AuthError';
    this.code = code;
  }
}

const STORAGE_KEY = 'sip.session';
const REFRESH_MARGIN_MS = 5 * 60 * 1000; // refresh this long before the ID token expires
const MIN_REFRESH_DELAY_MS = 10 * 1000;

const FRIENDLY = {
  NotAuthorizedException: 'Incorrect email address or password.',
  UserNotFoundException: 'Incorrect email address or password.',
  UserNotConfirmedException:
    'This account is not confirmed yet. Enter the code from the email we sent you.',
  UsernameExistsException: 'An account with this email address already exists. Sign in instead.',
  CodeMismatchException: 'That confirmation code is not right. Check the email and try again.',
  ExpiredCodeException: 'That confirmation code has expired. Ask for a new one by signing up again.',
  TooManyRequestsException: 'Too many attempts. Wait a few minutes and try again.',
  LimitExceededException: 'Too many attempts. Wait a few minutes and try again.',
  TooManyFailedAttemptsException: 'Too many attempts. Wait a few minutes and try again.',
  PasswordResetRequiredException: 'Your password must be reset. Ask the site operator for help.',
  InvalidParameterException: 'Check the email address and password, then try again.',
};

/** A sentence for a Cognito error (its own message for password rules: it names them). */
export function friendlyError(type, message) {
  const name = String(type || '').split('#').pop();
  if (name === 'InvalidPasswordException') {
    const detail = String(message || '').replace(/^Password does not conform to policy:\s*/i, '');
    return `Choose a stronger password${detail ? `: ${detail}` : '.'}`;
  }
  if (name === 'NotAuthorizedException' && /disabled/i.test(String(message || ''))) {
    return 'This account is disabled. Ask the site operator for help.';
  }
  return FRIENDLY[name] || 'Signing in failed. Try again in a moment.';
}

/** The claims of a JWT (not verified: the API checks tokens; the page only reads them). */
export function decodeClaims(token) {
  try {
    const part = String(token).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = part + '='.repeat((4 - (part.length % 4)) % 4);
    const text = decodeURIComponent(
      Array.from(atob(padded), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
    );
    const claims = JSON.parse(text);
    return claims && typeof claims === 'object' ? claims : {};
  } catch {
    return {};
  }
}

/** Milliseconds until the silent refresh: a margin before expiry, never sooner than 10 s. */
export function refreshDelayMs(expiresAtMs, nowMs) {
  const lifetime = expiresAtMs - nowMs;
  const margin = Math.min(REFRESH_MARGIN_MS, lifetime / 2);
  return Math.max(MIN_REFRESH_DELAY_MS, lifetime - margin);
}

/**
 * A signed-in session. settings: config.auth ({endpoint, clientId, ...}).
 * onChange(session|null, reason) is called on sign-in, refresh failure and sign-out.
 */
export function createSession(
  settings,
  {
    storage = safeSessionStorage(),
    fetchImpl = (...args) => fetch(...args),
    now = () => Date.now(),
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (id) => clearTimeout(id),
    onChange = () => {},
  } = {},
) {
  let current = restore();
  let timer = null;
  let refreshing = null;
  let generation = 0; // +1 on every sign-in and sign-out (a refresh keeps it): see stale()

  const ended = () => new AuthError('Your session has ended. Sign in again.', 'expired');

  /** An answer asked for in generation `asked` arrived after the session changed. */
  function stale(asked) {
    return asked !== generation;
  }

  async function call(target, body) {
    let response;
    try {
      response = await fetchImpl(settings.endpoint, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': `AWSCognitoIdentityProviderService.${target}`,
        },
        body: JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new AuthError('Could not reach the sign-in service. Check your connection and try again.', 'network');
    }
    const text = await response.text().catch(() => '');
    let data = {};
    try {
      data = text ? JSON.parse(text) : {};
    } catch {
      throw new AuthError('The sign-in service sent an answer this page cannot read.', 'response');
    }
    if (!response.ok) {
      const type = data.__type || data.code || '';
      throw new AuthError(friendlyError(type, data.message || data.Message), String(type).split('#').pop());
    }
    return data;
  }

  function store(result, email) {
    const claims = decodeClaims(result.IdToken);
    const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : now() + (result.ExpiresIn || 3600) * 1000;
    current = {
      idToken: result.IdToken,
      refreshToken: result.RefreshToken || (current && current.refreshToken) || null,
      expiresAt,
      email: claims.email || email || (current && current.email) || '',
    };
    try {
      storage.setItem(STORAGE_KEY, JSON.stringify(current));
    } catch {
      // storage full or blocked: the session lives in memory for this page only
    }
    schedule();
    return current;
  }

  function restore() {
    try {
      const saved = JSON.parse(storage.getItem(STORAGE_KEY) || 'null');
      if (saved && typeof saved.idToken === 'string' && typeof saved.expiresAt === 'number') return saved;
    } catch {
      // ignore a damaged entry
    }
    return null;
  }

  function schedule() {
    if (timer) clearTimer(timer);
    timer = null;
    if (!current || !current.refreshToken) return;
    timer = setTimer(() => {
      refresh().catch(() => {});
    }, refreshDelayMs(current.expiresAt, now()));
  }

  function clear(reason) {
    generation += 1;
    if (timer) clearTimer(timer);
    timer = null;
    current = null;
    refreshing = null; // an old refresh in flight no longer belongs to anyone
    try {
      storage.removeItem(STORAGE_KEY);
    } catch {
      // nothing stored
    }
    onChange(null, reason);
  }

  async function refresh() {
    if (!current || !current.refreshToken) throw ended();
    if (!refreshing) {
      const { refreshToken, email } = current;
      const asked = generation;
      const request = call('InitiateAuth', {
        AuthFlow: 'REFRESH_TOKEN_AUTH',
        ClientId: settings.clientId,
        AuthParameters: { REFRESH_TOKEN: refreshToken },
      })
        .then((data) => {
          if (stale(asked)) throw ended(); // signed out (and maybe in again) meanwhile
          if (!data.AuthenticationResult) throw ended();
          const session = store({ ...data.AuthenticationResult, RefreshToken: refreshToken }, email);
          onChange(session, 'refreshed');
          return session;
        })
        .catch((error) => {
          if (error.code !== 'network' && !stale(asked)) clear('Your session has ended. Sign in again.');
          throw error;
        })
        .finally(() => {
          if (refreshing === request) refreshing = null;
        });
      refreshing = request;
    }
    return refreshing;
  }

  if (current) {
    if (current.expiresAt <= now() && !current.refreshToken) current = null;
    else schedule();
  }

  return {
    get current() {
      return current;
    },

    /** Sign in; resolves {challenge: "NEW_PASSWORD_REQUIRED", session} for a first sign-in. */
    async signIn(email, password) {
      const asked = generation;
      const data = await call('InitiateAuth', {
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: settings.clientId,
        AuthParameters: { USERNAME: email, PASSWORD: password },
      });
      if (stale(asked)) throw ended(); // signed out before Cognito answered
      if (data.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
        return { challenge: data.ChallengeName, session: data.Session, email };
      }
      if (!data.AuthenticationResult) {
        throw new AuthError('This account needs a sign-in step this page does not support.', 'challenge');
      }
      generation += 1; // a new session: whatever the previous one still awaits is stale
      const session = store(data.AuthenticationResult, email);
      onChange(session, 'signed-in');
      return { session };
    },

    /** Answer the first-sign-in challenge of an operator-created user with a new password. */
    async setNewPassword(challenge, newPassword) {
      const asked = generation;
      const data = await call('RespondToAuthChallenge', {
        ChallengeName: 'NEW_PASSWORD_REQUIRED',
        ClientId: settings.clientId,
        Session: challenge.session,
        ChallengeResponses: { USERNAME: challenge.email, NEW_PASSWORD: newPassword },
      });
      if (stale(asked)) throw ended();
      if (!data.AuthenticationResult) throw new AuthError('Signing in failed. Try again in a moment.', 'challenge');
      generation += 1;
      const session = store(data.AuthenticationResult, challenge.email);
      onChange(session, 'signed-in');
      return { session };
    },

    async signUp(email, password) {
      await call('SignUp', {
        ClientId: settings.clientId,
        Username: email,
        Password: password,
        UserAttributes: [{ Name: 'email', Value: email }],
      });
    },

    async confirmSignUp(email, code) {
      await call('ConfirmSignUp', { ClientId: settings.clientId, Username: email, ConfirmationCode: code });
    },

    /** The current ID token, refreshed first when it is (nearly) expired. */
    async idToken() {
      if (!current) throw new AuthError('Sign in to continue.', 'expired');
      if (current.expiresAt - now() < 30 * 1000) return (await refresh()).idToken;
      return current.idToken;
    },

    refresh,

    /** Forget the tokens here and revoke the refresh token (best effort). */
    async signOut(reason = 'signed-out') {
      const token = current && current.refreshToken;
      clear(reason);
      if (token) {
        await call('RevokeToken', { ClientId: settings.clientId, Token: token }).catch(() => {});
      }
    },

    /** The API said 401: the session is over. */
    expired() {
      clear('Your session has ended. Sign in again.');
    },
  };
}

function safeSessionStorage() {
  try {
    return window.sessionStorage;
  } catch {
    const memory = new Map();
    return {
      getItem: (key) => (memory.has(key) ? memory.get(key) : null),
      setItem: (key, value) => memory.set(key, String(value)),
      removeItem: (key) => memory.delete(key),
    };
  }
}
