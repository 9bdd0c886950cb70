"""The benchmark scripts (bench/*.py) as modules, for the unit tests of their pure parts.

bench/ is a folder of scripts, not a package: each runs with its own folder first on
``sys.path`` and imports its neighbours (inputs, lambda_memory, defaults) by plain name.
:func:`load` gives a script the same view while it is imported.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load(script: str) -> ModuleType:
    """``bench/<script>.py`` imported as the module ``bench_<script>`` (registered in
    ``sys.modules``: dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(f"bench_{script}", BENCH / f"{script}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"bench/{script}.py cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module
