"""Fixtures of the localcloud tier: the emulator itself (tests/support/stacks.py), no stack."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """The emulator and its sidecar (tests/support/stacks.py): this tier's shared fixtures."""
    config.pluginmanager.import_plugin("support.stacks")  # once per run, whichever tier is first
