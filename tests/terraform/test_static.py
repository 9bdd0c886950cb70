"""Static checks of the Terraform code and of the build helpers (no plan needed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT_TF_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "providers.tf")

pytestmark = pytest.mark.terraform

MODULES = sorted(p.name for p in (REPO / "modules").iterdir() if p.is_dir())


def test_terraform_fmt_is_clean(tf_env: dict[str, str]) -> None:
    for args in (["-recursive", "modules"], [*ROOT_TF_FILES]):
        result = subprocess.run(
            ["terraform", "fmt", "-check", "-diff", "-no-color", *args],
            cwd=REPO,
            env={**_base_env(), **tf_env},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (
            f"terraform fmt would change:\n{result.stdout}{result.stderr}"
        )


def test_terraform_validate_is_clean_without_warnings(tf: Any) -> None:
    out = tf.execute_command("validate", "-no-color").out
    assert "Success! The configuration is valid." in out
    assert "Warning" not in out, out


def test_modules_follow_the_layout_convention() -> None:
    assert MODULES == [
        "alarms",
        "api",
        "auth",
        "cdn",
        "edge_purge",
        "events",
        "lambda_function",
        "lambda_layer",
        "network",
        "processor",
        "storage",
        "uploads_table",
        "waf",
        "web_site",
    ]
    for module in MODULES:
        folder = REPO / "modules" / module
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (folder / name).is_file(), f"modules/{module}/{name} is missing"
        text = "\n".join(p.read_text() for p in folder.glob("*.tf"))
        assert not re.search(r'^\s*provider\s+"', text, re.M), (
            f"modules/{module} configures a provider"
        )
        assert "required_providers" in (folder / "versions.tf").read_text()


@pytest.mark.parametrize("module", [*MODULES, "."])
def test_every_variable_and_output_is_described(module: str) -> None:
    folder = REPO if module == "." else REPO / "modules" / module
    for kind, filename in (("variable", "variables.tf"), ("output", "outputs.tf")):
        text = (folder / filename).read_text()
        blocks = re.split(rf'^{kind} "', text, flags=re.M)[1:]
        assert blocks, f"no {kind} in {folder / filename}"
        for block in blocks:
            name = block.split('"', 1)[0]
            assert re.search(r"^\s+description\s+=", block, re.M), (
                f"{kind} {name} in {module} has no description"
            )
            if kind == "variable":
                assert re.search(r"^\s+type\s+=", block, re.M), (
                    f"variable {name} in {module} has no type"
                )


def test_no_deprecated_or_v6_breaking_constructs() -> None:
    text = "\n".join(p.read_text() for p in [*REPO.glob("*.tf"), *(REPO / "modules").rglob("*.tf")])
    assert "aws_s3_bucket_object" not in text
    assert "aws_caller_identity" not in text  # plan must work with fake credentials
    assert "data.aws_region" not in text
    assert not re.search(r'resource "aws_api_gateway_deployment"[^}]*stage_name', text, re.S)


def test_page_files_have_known_content_types() -> None:
    """Every file of the real page (web/) gets a proper Content-Type, not octet-stream."""
    main = (REPO / "modules" / "web_site" / "main.tf").read_text()
    block = main.split("default_content_types = {", 1)[1].split("}", 1)[0]
    known = set(re.findall(r"^\s*(\w+)\s*=", block, re.M))
    web = REPO / "web"
    assert web.is_dir(), "web/ is missing"
    unknown = sorted(
        str(p.relative_to(web))
        for p in web.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(web).parts)
        and p.suffix.lstrip(".").lower() not in known
    )
    assert not unknown, f"no Content-Type mapping for: {unknown}"


# --- scripts/deterministic_zip.py ------------------------------------------------------------


def _base_env() -> dict[str, str]:
    return dict(os.environ)


def _zip(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "deterministic_zip.py"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_deterministic_zip_is_reproducible(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (src / "pkg" / "mod.py").write_text("X = 1\n")
    (src / "pkg" / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"junk")
    (src / "pkg" / "stale.pyc").write_bytes(b"junk")
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o775)
    (src / "handler.py").chmod(0o600)
    common = tmp_path / "common"
    common.mkdir()
    (common / "shared.py").write_text("Y = 2\n")
    (common / "README.md").write_text("not python\n")

    first = _zip(tmp_path, "a.zip", "src", "--include-glob", "*.py:common")
    assert first.returncode == 0, first.stderr
    entries, unzipped, zipped = (int(x) for x in first.stdout.split())
    assert entries == 4
    # different mtimes, same content: same bytes
    for path in src.rglob("*"):
        path.touch()
    second = _zip(tmp_path, "b.zip", "src", "--include-glob", "*.py:common")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert zipped == (tmp_path / "a.zip").stat().st_size

    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["handler.py", "pkg/mod.py", "run.sh", "shared.py"]
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
        assert modes == {
            "handler.py": 0o644,
            "pkg/mod.py": 0o644,
            "run.sh": 0o755,
            "shared.py": 0o644,
        }
        assert sum(i.file_size for i in infos) == unzipped


def test_deterministic_zip_refuses_shadowed_files(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "jsonlog.py").write_text(folder)
    result = _zip(tmp_path, "out.zip", "a", "b")
    assert result.returncode != 0
    assert "jsonlog.py" in result.stderr
    assert not (tmp_path / "out.zip").exists()
