"""Which host interpreter serves which Lambda runtime.

Configured by ``HOST_LAMBDA_INTERPRETERS``, a comma-separated list of ``runtime=path`` pairs,
e.g. ``python3.12=/repo/.local/venvs/lambda-python3.12/bin/python``.
"""

from __future__ import annotations

import os

from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException

INTERPRETERS_VARIABLE = "HOST_LAMBDA_INTERPRETERS"


def configured_interpreters() -> dict[str, str]:
    pairs = [
        item.strip()
        for item in os.environ.get(INTERPRETERS_VARIABLE, "").split(",")
        if item.strip()
    ]
    interpreters: dict[str, str] = {}
    for pair in pairs:
        runtime, separator, path = pair.partition("=")
        if not separator or not runtime or not path:
            raise LambdaRuntimeException(
                f"{INTERPRETERS_VARIABLE}: expected 'runtime=path', got '{pair}'"
            )
        interpreters[runtime.strip()] = path.strip()
    return interpreters


def resolve_interpreter(runtime: str | None) -> str:
    interpreters = configured_interpreters()
    if runtime not in interpreters:
        served = ", ".join(sorted(interpreters)) or "none"
        raise LambdaRuntimeException(
            f"The host Lambda executor cannot run runtime '{runtime}' "
            f"(runtimes served here: {served}; configure them in {INTERPRETERS_VARIABLE})"
        )
    path = interpreters[runtime]
    if not os.access(path, os.X_OK):
        raise LambdaRuntimeException(f"Interpreter for {runtime} is not executable: {path}")
    return path
