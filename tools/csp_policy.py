"""Content-Security-Policy parsing and URL matching, as a browser applies it to fetches.

Shared by ``tools/smoke.py`` (the CloudFront header of a real deployment against the URLs the
stack handed out) and the tests (the policy Terraform builds against the URLs the API's own code
signs, in several regions; the policy Chromium enforces on the emulator). Only what this page
relies on is implemented, following CSP Level 3 "Does url match source list": ``'none'``,
``'self'``, ``*``, scheme sources (``https:``, ``data:``, ``blob:``) and host sources with
optional scheme, ``*.`` wildcard, port (or ``:*``) and path. Keyword sources such as nonces,
hashes and ``'unsafe-inline'`` never admit a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

# Directives a fetch falls back to default-src from (the ones this page uses).
FETCH_DIRECTIVES = frozenset(
    {"connect-src", "img-src", "script-src", "style-src", "font-src", "media-src", "object-src"}
)
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# `*` matches these network schemes (plus the page's own scheme), never data: or blob:.
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
# A source of the first scheme also matches a URL of the second (CSP3's secure upgrades).
UPGRADES = {("http", "https"), ("ws", "wss"), ("http", "wss"), ("ws", "https")}


class PolicyError(ValueError):
    """The text is not a policy this module can evaluate."""


@dataclass(frozen=True)
class Policy:
    """One serialised policy: directive name (lower case) -> source expressions."""

    directives: dict[str, tuple[str, ...]]

    def sources_for(self, directive: str) -> tuple[str, ...] | None:
        """The source list a fetch of ``directive`` is checked against (default-src fallback);
        ``None`` when neither is present (nothing restricts it)."""
        if directive in self.directives:
            return self.directives[directive]
        if directive in FETCH_DIRECTIVES:
            return self.directives.get("default-src")
        return None


def parse(text: str) -> Policy:
    """Parse one serialised policy (``name value...; name value...``). Like a browser, the
    first occurrence of a directive wins and names are case-insensitive."""
    if not text or not text.strip():
        raise PolicyError("empty Content-Security-Policy")
    directives: dict[str, tuple[str, ...]] = {}
    for part in text.split(";"):
        words = part.split()
        if not words:
            continue
        name = words[0].lower()
        directives.setdefault(name, tuple(words[1:]))
    return Policy(directives)


def admits(policy: Policy, directive: str, url: str, page_origin: str) -> bool:
    """Would a page at ``page_origin`` be allowed to fetch ``url`` under ``directive``?"""
    sources = policy.sources_for(directive)
    if sources is None:
        return True
    return any(source_matches(source, url, page_origin) for source in sources)


def source_matches(source: str, url: str, page_origin: str) -> bool:
    """CSP3 "does url match expression in origin with redirect count 0" for one source."""
    target = urlsplit(url)
    scheme = target.scheme.lower()
    page = urlsplit(page_origin)
    lowered = source.lower()
    if lowered == "*":
        return scheme in NETWORK_SCHEMES or scheme == page.scheme.lower()
    if lowered == "'self'":
        return _same_origin_or_upgrade(target, page)
    if lowered.startswith("'"):
        return False  # 'none', nonces, hashes, 'unsafe-*': never a URL
    if lowered.endswith(":") and "/" not in lowered:
        return _scheme_matches(lowered[:-1], scheme)
    return _host_source_matches(lowered, target, page.scheme.lower())


def _scheme_matches(expression: str, scheme: str) -> bool:
    return expression == scheme or (expression, scheme) in UPGRADES


def _same_origin_or_upgrade(target, page) -> bool:
    scheme, page_scheme = target.scheme.lower(), page.scheme.lower()
    if (target.hostname or "") != (page.hostname or ""):
        return False
    if scheme == page_scheme:
        return _port(target) == _port(page)
    # http page -> https URL on the default ports is the one allowed upgrade.
    return (page_scheme, scheme) in UPGRADES and _port(page) == DEFAULT_PORTS.get(page_scheme)


def _port(parts) -> int | None:
    return parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme.lower())


def _host_source_matches(source: str, target, page_scheme: str) -> bool:
    scheme_part, sep, rest = source.partition("://")
    if not sep:
        scheme_part, rest = "", source
    url_scheme = target.scheme.lower()
    if scheme_part:
        if not _scheme_matches(scheme_part, url_scheme):
            return False
    elif not _scheme_matches(page_scheme, url_scheme):
        return False
    host_port, slash, path = rest.partition("/")
    host, colon, port = host_port.partition(":")
    if not _host_matches(host, (target.hostname or "").lower()):
        return False
    if not _port_matches(port if colon else None, scheme_part or None, target):
        return False
    return _path_matches("/" + path if slash else "", target.path or "/")


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def _port_matches(port: str | None, source_scheme: str | None, target) -> bool:
    url_port = _port(target)
    if port == "*":
        return True
    if port is None:
        return url_port == DEFAULT_PORTS.get(target.scheme.lower())
    try:
        wanted = int(port)
    except ValueError:
        return False
    if wanted == url_port:
        return True
    return wanted == 80 and url_port == 443 and source_scheme in (None, "http")


def _path_matches(path: str, url_path: str) -> bool:
    if not path or path == "/":
        return True
    if path.endswith("/"):
        return url_path.startswith(path)
    return url_path == path


def refusals(policy: Policy, checks: list[tuple[str, str]], page_origin: str) -> list[str]:
    """For each ``(directive, url)``, a message when the policy refuses it; [] when all pass."""
    out = []
    for directive, url in checks:
        if not admits(policy, directive, url, page_origin):
            allowed = " ".join(policy.sources_for(directive) or ())
            shown = url.split("?", 1)[0]
            out.append(
                f"{directive} refuses {shown} (origin {origin_of(url)}); it admits only: {allowed}"
            )
    return out


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (the part a CSP host source names)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
