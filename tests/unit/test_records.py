"""The upload record's transitions on a moto DynamoDB table: every path, duplicates and
out-of-order events included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from common import records
from common.records import RecordStatus
from common.table import UploadsTable

UPLOAD_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
NOW = datetime(2026, 12, 3, 12, 0, 0, 123000, tzinfo=UTC)
DONE = {
    "status": "done",
    "variants": [
        {
            "name": "large",
            "width": 1024,
            "height": 768,
            "contentType": "image/jpeg",
            "bytes": 12345,
            "key": f"{UPLOAD_ID}/large.jpg",
        }
    ],
    "source": {"format": "JPEG", "width": 4000, "height": 3000, "bytes": 2_000_000},
    "error": None,
}
REJECTED = {
    "status": "rejected",
    "variants": [],
    "source": {"format": None, "width": None, "height": None, "bytes": 10},
    "error": {"code": "not_an_image", "message": "The file is not a recognised image."},
}


@pytest.fixture
def table(uploads: UploadsTable) -> UploadsTable:
    return uploads


OWNER = "5b8e9c1a-user"


def created(
    table: UploadsTable, upload_id: str = UPLOAD_ID, when: datetime = NOW, owner: str | None = None
) -> None:
    item = records.new_item(upload_id, owner, "../holiday\x00.jpg", "image/jpeg", 10, when, 30)
    assert table.create(item)


def test_the_api_creates_once_and_never_overwrites(table) -> None:
    created(table)
    item = table.get(UPLOAD_ID)
    assert item["status"] == "awaiting_upload"
    assert item["fileName"] == "holiday.jpg"  # base name, control characters gone
    assert item["expiresAt"] == int((NOW + timedelta(days=30)).timestamp())
    assert item["createdAt"] == "2026-12-03T12:00:00.123Z"

    again = records.new_item(UPLOAD_ID, "mallory", "x.png", "image/png", 99, NOW, 30)
    assert table.create(again) is False
    assert "owner" not in table.get(UPLOAD_ID)  # not overwritten by mallory's


def test_a_good_image_goes_awaiting_processing_done(table) -> None:
    created(table)
    assert table.update(records.start_update(UPLOAD_ID, NOW, 30)) is not None
    assert table.get(UPLOAD_ID)["status"] == "processing"
    assert table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 123.4)) is not None

    item = table.get(UPLOAD_ID)
    assert item["status"] == "done"
    assert item["variants"] == DONE["variants"]
    assert item["source"]["width"] == 4000
    assert item["processingMs"] == 123
    assert item["error"] is None


def test_a_rejected_image_keeps_its_code(table) -> None:
    created(table)
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    table.update(records.finish_update(UPLOAD_ID, NOW, REJECTED, 5))
    item = table.get(UPLOAD_ID)
    assert (item["status"], item["error"]["code"]) == ("rejected", "not_an_image")


@pytest.mark.parametrize("outcome", [DONE, REJECTED], ids=["done", "rejected"])
def test_a_late_or_duplicate_event_never_moves_a_finished_upload_back(table, outcome) -> None:
    created(table)
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    table.update(records.finish_update(UPLOAD_ID, NOW, outcome, 5))

    assert table.update(records.start_update(UPLOAD_ID, NOW, 30)) is None  # refused
    assert table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5)) is None
    assert table.update(records.failed_attempt_update(UPLOAD_ID, NOW, "ClientError")) is None
    assert table.get(UPLOAD_ID)["status"] == outcome["status"]


def test_two_attempts_at_once_finish_once(table) -> None:
    created(table)
    assert table.update(records.start_update(UPLOAD_ID, NOW, 30)) is not None
    assert table.update(records.start_update(UPLOAD_ID, NOW, 30)) is not None  # a duplicate
    assert table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5)) is not None
    assert table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5)) is None


def test_failed_attempts_are_counted_then_the_upload_fails_and_a_replay_finishes_it(table) -> None:
    created(table)
    counts = []
    for _ in range(3):
        table.update(records.start_update(UPLOAD_ID, NOW, 30))
        answer = table.update(records.failed_attempt_update(UPLOAD_ID, NOW, "ClientError"))
        counts.append(answer["failedAttempts"])
    assert counts == [1, 2, 3]
    table.update(records.give_up_update(UPLOAD_ID, NOW))
    item = table.get(UPLOAD_ID)
    assert (item["status"], item["error"]["code"]) == ("failed", "processing_failed")

    assert table.update(records.start_update(UPLOAD_ID, NOW, 30)) is None  # not a plain start
    later = NOW + timedelta(hours=2)
    replay = table.update(records.restart_update(UPLOAD_ID, later, 3))  # the replay's epoch
    assert replay is not None
    assert (replay["status"], replay["failedAttempts"], replay["replays"]) == ("processing", 2, 1)
    assert replay["startedAt"] == records.iso(later)
    assert "error" not in replay
    table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5))
    item = table.get(UPLOAD_ID)
    assert item["status"] == "done"
    assert "lastError" not in item


def test_a_failed_replay_is_one_more_attempt_then_failed_again(table) -> None:
    created(table)
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    for _ in range(3):
        table.update(records.failed_attempt_update(UPLOAD_ID, NOW, "ClientError"))
    table.update(records.give_up_update(UPLOAD_ID, NOW))
    table.update(records.restart_update(UPLOAD_ID, NOW, 3))
    counted = table.update(records.failed_attempt_update(UPLOAD_ID, NOW, "ClientError"))
    assert counted["failedAttempts"] == 3  # the processor gives up again
    assert table.update(records.give_up_update(UPLOAD_ID, NOW)) is not None
    assert table.get(UPLOAD_ID)["status"] == "failed"


def test_only_a_failed_upload_restarts(table) -> None:
    created(table)
    assert table.update(records.restart_update(UPLOAD_ID, NOW, 3)) is None  # awaiting_upload
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5))
    assert table.update(records.restart_update(UPLOAD_ID, NOW, 3)) is None  # done


def test_a_success_after_give_up_finishes_the_record(table) -> None:
    """A slow attempt (or a duplicate event) succeeds after another gave up: done, not failed
    beside a done manifest."""
    created(table)
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    for _ in range(3):
        table.update(records.failed_attempt_update(UPLOAD_ID, NOW, "ClientError"))
    table.update(records.give_up_update(UPLOAD_ID, NOW))
    assert table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5)) is not None
    item = table.get(UPLOAD_ID)
    assert (item["status"], item["error"]) == ("done", None)
    assert table.update(records.give_up_update(UPLOAD_ID, NOW)) is None  # never back


@pytest.mark.parametrize("state", ["awaiting_upload", "processing", "done", "failed"])
def test_a_tombstone_refuses_every_processor_update_and_answers_itself(table, state) -> None:
    created(table, owner=OWNER)
    if state != "awaiting_upload":
        table.update(records.start_update(UPLOAD_ID, NOW, 30))
    if state == "done":
        table.update(records.finish_update(UPLOAD_ID, NOW, DONE, 5))
    if state == "failed":
        table.update(records.give_up_update(UPLOAD_ID, NOW))
    assert table.update(records.tombstone_update(UPLOAD_ID, OWNER, NOW, 600)) is not None

    for request in (
        records.start_update(UPLOAD_ID, NOW, 30),
        records.restart_update(UPLOAD_ID, NOW, 3),
        records.finish_update(UPLOAD_ID, NOW, DONE, 5),
        records.failed_attempt_update(UPLOAD_ID, NOW, "ClientError"),
    ):
        answer = table.attempt(request)
        assert not answer.applied
        assert records.is_tombstone(answer.item)
    assert table.update(records.give_up_update(UPLOAD_ID, NOW)) is None
    item = table.get(UPLOAD_ID)
    assert item["status"] == "deleted"
    assert item["deletedBy"] == OWNER
    assert not {"owner", "fileName", "variants", "source", "error"} & set(item)
    assert item["expiresAt"] == int((NOW + timedelta(seconds=600)).timestamp())
    assert table.list_owner(OWNER, 10) == ([], None)  # out of the owner index


def test_only_the_owner_tombstones_and_may_repeat_it(table) -> None:
    created(table, owner=OWNER)
    assert table.update(records.tombstone_update(UPLOAD_ID, "someone-else", NOW, 600)) is None
    assert table.update(records.tombstone_update(UPLOAD_ID, OWNER, NOW, 600)) is not None
    assert table.update(records.tombstone_update(UPLOAD_ID, OWNER, NOW, 600)) is not None
    assert table.update(records.tombstone_update(UPLOAD_ID, "someone-else", NOW, 600)) is None
    created(table, "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e00")  # anonymous: nobody may delete it
    anonymous = records.tombstone_update(
        "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e00", "anonymous", NOW, 1
    )
    assert table.update(anonymous) is None


def test_a_refused_finish_of_a_vanished_record_answers_no_item(table) -> None:
    answer = table.attempt(records.finish_update(UPLOAD_ID, NOW, DONE, 5))
    assert (answer.applied, answer.item) == (False, None)


def test_an_original_written_without_a_presign_gets_an_item(table) -> None:
    """Out of order: the event arrives with no item (written straight into the bucket)."""
    assert table.update(records.start_update(UPLOAD_ID, NOW, None)) is not None
    item = table.get(UPLOAD_ID)
    assert item["status"] == "processing"
    assert "owner" not in item  # no owner: not in the owner index (sparse)
    assert item["createdAt"] == item["startedAt"]
    assert "expiresAt" not in item  # outputs kept for ever: no TTL


def test_a_second_attempt_keeps_the_creation_time_and_owner(table) -> None:
    created(table)
    later = NOW + timedelta(minutes=1)
    table.update(records.start_update(UPLOAD_ID, later, 30))
    item = table.get(UPLOAD_ID)
    assert item["createdAt"] == records.iso(NOW)
    assert item["startedAt"] == records.iso(later)
    assert item["expiresAt"] == int((NOW + timedelta(days=30)).timestamp())


def test_an_owner_lists_newest_first_in_pages(table) -> None:
    ids = [f"3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e{index:02d}" for index in range(5)]
    for index, upload_id in enumerate(ids):
        created(table, upload_id, NOW + timedelta(seconds=index), owner=OWNER)
    first, cursor = table.list_owner(OWNER, 3)
    second, end = table.list_owner(OWNER, 3, cursor)
    assert [item["id"] for item in first + second] == ids[::-1]
    assert end is None or table.list_owner(OWNER, 3, end)[0] == []
    assert table.list_owner("someone-else", 3) == ([], None)


def test_anonymous_uploads_stay_out_of_the_owner_index(table, s3) -> None:
    """Issue 19 item 6: no owner attribute, so the index holds signed-in uploads only (no hot
    "anonymous" partition, no index write for an anonymous upload)."""
    created(table, "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e01")
    table.update(records.start_update("3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e02", NOW, 30))
    created(table, "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e03", owner=OWNER)
    import boto3

    index = boto3.client("dynamodb").scan(TableName=table.name, IndexName=table.owner_index)
    assert [item["id"]["S"] for item in index["Items"]] == ["3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e03"]
    assert table.list_owner("anonymous", 10) == ([], None)


def test_finish_refuses_a_status_that_is_not_final() -> None:
    with pytest.raises(ValueError, match="done or rejected"):
        records.finish_update(UPLOAD_ID, NOW, {**DONE, "status": "processing"}, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("photo.jpg", "photo.jpg"),
        ("C:\\Users\\me\\IMG_1.HEIC", "IMG_1.HEIC"),
        ("a/b/../c.png", "c.png"),
        ("\u202eexe.jpg", "exe.jpg"),  # bidi override removed
        ("   ", None),
        ("x" * 300, "x" * 255),
    ],
)
def test_file_names_are_sanitised(raw, expected) -> None:
    assert records.sanitise_filename(raw) == expected


def test_status_values_are_the_contracts() -> None:
    from common import contract

    public = {status.value for status in contract.Status}
    internal = {"awaiting_upload", "deleted"}  # read as processing / answered 404 by the API
    assert {status.value for status in RecordStatus} - public == internal


def test_the_placeholder_is_kept_with_its_fractional_aspect_ratio(table) -> None:
    """DynamoDB takes no floats from the SDK: the table adapter sends Decimals, reads floats."""
    created(table)
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    placeholder = {
        "thumbhash": "1bYCrKJMa6qMiIiFiI+PiPiIeA==",
        "color": "#dc1414",
        "aspectRatio": 1.3333,
    }
    outcome = {**DONE, "placeholder": placeholder}
    assert table.update(records.finish_update(UPLOAD_ID, NOW, outcome, 5)) is not None
    assert table.get(UPLOAD_ID)["placeholder"] == placeholder


def test_a_rejected_upload_has_no_placeholder(table) -> None:
    created(table)
    table.update(records.start_update(UPLOAD_ID, NOW, 30))
    assert table.update(records.finish_update(UPLOAD_ID, NOW, REJECTED, 5)) is not None
    assert table.get(UPLOAD_ID)["placeholder"] is None
