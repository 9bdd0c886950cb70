"""The function process's output stream: split into log lines and end markers, kept bounded.

Standard library only and free of LocalStack imports, so it can be tested on its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

# An unterminated line longer than this is passed on in pieces instead of being held in memory.
MAX_PENDING_BYTES = 64 * 1024
# Room kept at the end of a flushed piece, so that a marker line split by a read is never cut.
MARKER_ROOM_BYTES = 256


@dataclass(frozen=True)
class LogText:
    text: str


@dataclass(frozen=True)
class EndOfInvocation:
    request_id: str


class OutputSplitter:
    """Turns raw output chunks into ``LogText`` pieces and ``EndOfInvocation`` markers.

    A marker line is ``marker + request_id + "\\n"``; it may follow output that did not end with a
    newline, so it is searched for anywhere in a line. Memory use is bounded by
    ``MAX_PENDING_BYTES`` whatever the handler writes.
    """

    def __init__(self, marker: str) -> None:
        self._marker = marker.encode()
        self._pending = b""

    def feed(self, chunk: bytes) -> Iterator[LogText | EndOfInvocation]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for line in lines:
            yield from self._line(line)
        if len(self._pending) > MAX_PENDING_BYTES:
            cut = len(self._pending) - MARKER_ROOM_BYTES
            piece, self._pending = self._pending[:cut], self._pending[cut:]
            yield LogText(_decode(piece))

    def close(self) -> Iterator[LogText | EndOfInvocation]:
        """The stream ended: whatever is pending is output without a final newline."""
        pending, self._pending = self._pending, b""
        if pending:
            yield from self._line(pending)

    def _line(self, line: bytes) -> Iterator[LogText | EndOfInvocation]:
        before, marker, request_id = line.partition(self._marker)
        if before or not marker:
            yield LogText(_decode(before) + "\n")
        if marker:
            yield EndOfInvocation(_decode(request_id).strip())


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class LogTail:
    """The last ``limit`` characters of a log, with a note of how much was dropped before them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped = 0
        self._pieces: deque[str] = deque()
        self._size = 0

    def append(self, text: str) -> None:
        if len(text) > self.limit:
            self.dropped += len(text) - self.limit
            text = text[-self.limit :]
        self._pieces.append(text)
        self._size += len(text)
        while self._size > self.limit:
            oldest = self._pieces.popleft()
            self._size -= len(oldest)
            self.dropped += len(oldest)

    def text(self) -> str:
        body = "".join(self._pieces)
        if not self.dropped:
            return body
        return (
            f"[host-lambda-executor] output truncated: the first {self.dropped} characters were "
            f"dropped, the last {self._size} follow\n{body}"
        )
