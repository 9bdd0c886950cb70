#!/usr/bin/env python3
"""Write a byte-for-byte reproducible zip from one or more source folders.

Usage: deterministic_zip.py OUTPUT.zip SRC_DIR [SRC_DIR ...] [--include-glob GLOB:SRC_DIR ...]

Every regular file under each SRC_DIR is stored at its path relative to that SRC_DIR
(so several folders merge into one zip root). The same input always gives the same bytes:

- entries sorted by archive name, files only (no directory entries);
- fixed timestamp 1980-01-01 00:00:00, Unix "made by", no extra fields;
- permissions normalised to 0644, or 0755 for files with any execute bit;
- ``__pycache__`` folders and ``*.pyc``/``*.pyo`` files are skipped.

Two sources providing the same archive name is an error (a shared module must not silently
shadow a function's own file). Prints "<entries> <unzipped bytes> <zipped bytes>" on success.
Stdlib only: runs with any Python 3.9+.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import stat
import sys
import zipfile
from pathlib import Path

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")


def collect(src: Path, pattern: str | None = None) -> dict[str, Path]:
    """Map archive names to files below ``src`` (optionally only names matching ``pattern``)."""
    if not src.is_dir():
        raise SystemExit(f"deterministic_zip: not a folder: {src}")
    found: dict[str, Path] = {}
    for root, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in files:
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(root) / name
            if not path.is_file():  # dangling links, sockets, ...
                continue
            arcname = path.relative_to(src).as_posix()
            if pattern is not None and not fnmatch.fnmatch(arcname, pattern):
                continue
            found[arcname] = path
    return found


def write_zip(output: Path, entries: dict[str, Path]) -> tuple[int, int]:
    """Write ``entries`` to ``output`` deterministically; return (unzipped, zipped) sizes."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    unzipped = 0
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for arcname in sorted(entries):
            path = entries[arcname]
            mode = (
                0o755
                if path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
                else 0o644
            )
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
            info.create_system = 3  # Unix, so external_attr carries the permissions
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    os.replace(tmp, output)
    return unzipped, output.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("sources", type=Path, nargs="*", help="folders merged into the zip root")
    parser.add_argument(
        "--include-glob",
        action="append",
        default=[],
        metavar="GLOB:DIR",
        help="add only the files of DIR whose relative path matches GLOB, e.g. '*.py:src/common'",
    )
    args = parser.parse_args(argv)

    plan: list[tuple[Path, str | None]] = [(src, None) for src in args.sources]
    for spec in args.include_glob:
        pattern, sep, folder = spec.partition(":")
        if not sep or not pattern or not folder:
            parser.error(f"--include-glob expects GLOB:DIR, got {spec!r}")
        plan.append((Path(folder), pattern))
    if not plan:
        parser.error("no source folder given")

    entries: dict[str, Path] = {}
    for src, pattern in plan:
        for arcname, path in collect(src, pattern).items():
            if arcname in entries:
                raise SystemExit(
                    f"deterministic_zip: {arcname!r} comes from both {entries[arcname]} and {path}"
                )
            entries[arcname] = path
    if not entries:
        raise SystemExit("deterministic_zip: no files to archive")

    unzipped, zipped = write_zip(args.output, entries)
    print(f"{len(entries)} {unzipped} {zipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
