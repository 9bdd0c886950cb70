"""The one exception for "this file is not an image this service accepts" (pure, no AWS).

``code`` is one of :data:`common.contract.REJECTION_CODES`; the processor records it and the
status API shows it. :mod:`imaging` raises it for formats, sizes and damage,
:mod:`decode_budget` (its subclass ``DecodeWorkExceeded``) for unbounded decode work.
"""

from __future__ import annotations


class ImageRejected(Exception):
    """The input is not an image this service accepts. ``code`` is machine-readable."""

    def __init__(self, code: str, message: str, detail: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail
