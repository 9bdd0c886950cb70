"""tools/uploads.py on a moto table: newest first, filters, JSON output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from common import records
from support.lambda_env import UPLOADS_TABLE
from tools import uploads as uploads_tool

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def seed(table, count: int = 4, owner: str | None = None) -> list[str]:
    ids = []
    for index in range(count):
        upload_id = f"{index}f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5{'f' if owner is None else 'a'}"
        item = records.new_item(
            upload_id,
            owner,
            f"f{index}.jpg",
            "image/jpeg",
            1,
            NOW + timedelta(minutes=index),
            30,
        )
        if index % 2:
            item.update(status="rejected", error={"code": "not_an_image", "message": "no"})
        assert table.create(item)
        ids.append(upload_id)
    return ids


def outputs_file(tmp_path):
    path = tmp_path / "outputs.json"
    path.write_text(
        json.dumps({"uploads_table": {"value": UPLOADS_TABLE}, "api_url": {"value": "x"}})
    )
    return path


def test_lists_newest_first_with_codes(uploads, tmp_path, capsys) -> None:
    ids = seed(uploads)
    assert uploads_tool.main(["--outputs", str(outputs_file(tmp_path))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"4 upload(s) in {UPLOADS_TABLE}, newest first"
    assert [line.split()[1] for line in lines[1:]] == ids[::-1]
    assert "not_an_image" in lines[1]


def test_filters_rejections_and_prints_json(uploads, tmp_path, capsys) -> None:
    ids = seed(uploads)
    path = str(outputs_file(tmp_path))
    assert uploads_tool.main(["--outputs", path, "--status", "rejected", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [item["id"] for item in document["items"]] == [ids[3], ids[1]]
    assert document["count"] == 2

    assert (
        uploads_tool.main(["--outputs", path, "--owner", "anonymous", "--limit", "1", "--json"])
        == 0
    )
    assert [item["id"] for item in json.loads(capsys.readouterr().out)["items"]] == [ids[3]]


def test_owners_come_from_the_index_anonymous_uploads_from_a_scan(
    uploads, tmp_path, capsys
) -> None:
    """The owner index is sparse (anonymous records have no owner): both listings still work,
    and a deleted upload's tombstone shows only when asked for."""
    anonymous = seed(uploads, 2)
    owned = seed(uploads, 3, owner="alice-sub")
    uploads.update(records.tombstone_update(owned[0], "alice-sub", NOW, 600))
    path = str(outputs_file(tmp_path))

    def listed(*options: str) -> list[str]:
        assert uploads_tool.main(["--outputs", path, "--json", *options]) == 0
        return [item["id"] for item in json.loads(capsys.readouterr().out)["items"]]

    assert listed("--owner", "alice-sub") == owned[:0:-1]
    assert listed("--owner", "anonymous") == anonymous[::-1]
    assert owned[0] not in listed()
    assert listed("--status", "deleted") == [owned[0]]


def test_outputs_without_a_table_are_a_clear_error(tmp_path, capsys) -> None:
    path = tmp_path / "outputs.json"
    path.write_text("{}")
    assert uploads_tool.main(["--outputs", str(path)]) == 2
    assert "no uploads_table" in capsys.readouterr().err
