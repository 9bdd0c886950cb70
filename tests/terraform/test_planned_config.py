"""What `terraform validate` and `plan` accept never crashes a function at cold start.

The environment Terraform plans for each function is fed to that function's own configuration
parser (``api.config.load_config``, ``processor.config.load_config``): a value Terraform lets
through but the function refuses would fail every invocation after a successful apply. The
plans use the emulator endpoint so every value is known at plan time.
"""

from __future__ import annotations

from typing import Any

import pytest

from api import config as api_config
from processor import config as processor_config

EMULATOR = "http://127.0.0.1:4566"
# Each set is one plan (plans are cached per variable set: "defaults" is test_plan's own).
VARIABLE_SETS = {
    "defaults": {},
    "wildcard origin, one type, limits at their bounds": {
        "allowed_origins": ["*"],
        "allowed_content_types": ["image/png"],
        "max_upload_bytes": 5368709120,
        "upload_url_ttl_seconds": 3600,
        "download_url_ttl_seconds": 1,
        "log_level": "DEBUG",
    },
    "variants at the rules' edges": {
        "variants": [
            {"name": "a" * 32, "max_edge": 8192, "formats": [{"format": "png"}]},
            {
                "name": "0",
                "max_edge": 16,
                "formats": [
                    {"format": "avif", "quality": 100, "effort": 10},
                    {"format": "webp", "quality": 1, "effort": 6},
                    {"format": "jpeg", "quality": 1},
                    {"format": "png"},
                ],
            },
        ],
        "allowed_origins": ["https://a.example", "http://localhost:3000"],
    },
}


def planned_environment(plan: Any, module: str) -> dict[str, str]:
    function = plan.values(f"module.{module}.module.function.aws_lambda_function.this")
    return {**function["environment"][0]["variables"], "AWS_REGION": "us-east-1"}


@pytest.mark.parametrize("name", list(VARIABLE_SETS))
def test_each_function_loads_the_configuration_terraform_plans(plan_factory, name: str) -> None:
    variables = {"emulator_endpoint": EMULATOR, "bucket_name_suffix": "t1", **VARIABLE_SETS[name]}
    plan = plan_factory(**{key: _hcl(value) for key, value in variables.items()})

    api_config.load_config(planned_environment(plan, "api"))
    processor_config.load_config(planned_environment(plan, "processor"))


def _hcl(value: Any) -> Any:
    import json

    return json.dumps(value) if isinstance(value, (list, dict)) else value
