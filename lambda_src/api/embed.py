"""Pure: what a done upload's status gives to embed it (``srcset`` per format, ``<picture>``).

Input is the status body's ``variants``: sizes ``{name, width, height, sources}`` with each
size's sources ``{format, type, url, bytes}`` in preference order (rules.json: the order of a
variant's ``formats``). Output:

* :func:`srcsets`: per type, in preference order, ``"<url> <width>w, ..."`` across the sizes
  that have it (narrowest first).
* :func:`picture_html`: one ``<picture>`` that lets the browser pick both the format (a
  ``<source type>`` per format it may not read, in preference order) and the size (``srcset``
  with ``sizes``); the ``<img>`` is the fallback format every browser reads (the last one of the
  largest size), with that size's ``width``/``height`` (no layout shift), ``loading="lazy"``,
  ``decoding="async"`` and an ``alt=""`` for the author to fill in.
* :func:`size_picture_html`: the same for one size alone (fixed size, formats only).

URLs are attribute-escaped (a presigned URL carries ``&``); a comma in a ``srcset`` URL would
split the candidate, so it is percent-encoded there (``%2C`` means the same in a query).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

LAZY = 'loading="lazy" decoding="async"'


def srcsets(variants: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """``[{"type", "srcset"}]`` in preference order (first appearance, largest size first)."""
    candidates: dict[str, dict[int, str]] = {}
    for size in _largest_first(variants):
        for source in size["sources"]:  # sizes as wide as a small original: one candidate
            candidates.setdefault(source["type"], {}).setdefault(size["width"], source["url"])
    return [
        {
            "type": kind,
            "srcset": ", ".join(f"{_srcset_url(url)} {w}w" for w, url in sorted(found.items())),
        }
        for kind, found in candidates.items()
    ]


def picture_html(variants: Sequence[Mapping[str, Any]]) -> str | None:
    """The responsive ``<picture>`` across every size (``None`` without any source)."""
    ordered = [size for size in _largest_first(variants) if size["sources"]]
    if not ordered:
        return None
    largest = ordered[0]
    fallback = largest["sources"][-1]
    sets = srcsets(ordered)
    sizes = f'sizes="(max-width: {largest["width"]}px) 100vw, {largest["width"]}px"'
    lines = [
        f'  <source type="{_attr(entry["type"])}" srcset="{_attr(entry["srcset"])}" {sizes}>'
        for entry in sets
        if entry["type"] != fallback["type"]
    ]
    fallback_set = next(entry["srcset"] for entry in sets if entry["type"] == fallback["type"])
    lines.append(
        f'  <img src="{_attr(fallback["url"])}" srcset="{_attr(fallback_set)}" {sizes} '
        f"{_img_tail(largest)}>"
    )
    return "\n".join(["<picture>", *lines, "</picture>"])


def size_picture_html(size: Mapping[str, Any]) -> str | None:
    """A ``<picture>`` of one size: its formats in preference order, the last as ``<img>``."""
    sources = list(size["sources"])
    if not sources:
        return None
    lines = [
        f'  <source type="{_attr(source["type"])}" srcset="{_attr(_srcset_url(source["url"]))}">'
        for source in sources[:-1]
    ]
    lines.append(f'  <img src="{_attr(sources[-1]["url"])}" {_img_tail(size)}>')
    return "\n".join(["<picture>", *lines, "</picture>"])


def _img_tail(size: Mapping[str, Any]) -> str:
    return f'width="{int(size["width"])}" height="{int(size["height"])}" alt="" {LAZY}'


def _largest_first(variants: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(variants, key=lambda size: size["width"], reverse=True)


def _srcset_url(url: str) -> str:
    return url.replace(",", "%2C")


def _attr(value: str) -> str:
    return escape(value, quote=True)
