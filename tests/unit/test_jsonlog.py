"""The JSON log helper shared by both functions (lambda_src/common, copied into each zip)."""

from __future__ import annotations

import json

import pytest

from common import jsonlog


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_one_json_object_per_line_with_bound_fields(capsys) -> None:
    log = jsonlog.JsonLogger("unit-jsonlog", "INFO")
    with log.bound(request_id="r-1"):
        log.info("first", upload_id="u-1", timings_ms={"get": 1.5})
        with log.bound(upload_id="u-2"):
            log.bind(stage="inner")
            log.warning("second\nwith newline")
        log.debug("hidden at INFO")
    log.error("outside")

    first, second, outside = lines(capsys)
    assert first["level"] == "INFO"
    assert first["message"] == "first"
    assert first["request_id"] == "r-1"
    assert first["upload_id"] == "u-1"
    assert first["timings_ms"] == {"get": 1.5}
    assert first["timestamp"].endswith("+00:00")
    assert (second["level"], second["upload_id"], second["stage"]) == ("WARNING", "u-2", "inner")
    assert second["message"] == "second\nwith newline"
    assert "request_id" not in outside
    assert "stage" not in outside


def test_exceptions_carry_type_and_traceback(capsys) -> None:
    log = jsonlog.JsonLogger("unit-jsonlog-exc", "INFO")
    try:
        raise KeyError("boom")
    except KeyError:
        log.exception("failed", key="k")
    (line,) = lines(capsys)
    assert line["level"] == "ERROR"
    assert line["exception"] == "KeyError"
    assert "boom" in line["traceback"]
    assert line["key"] == "k"


def test_unserialisable_fields_are_stringified(capsys) -> None:
    log = jsonlog.JsonLogger("unit-jsonlog-str", "DEBUG")
    log.debug("odd", value=object(), raw=b"bytes")
    (line,) = lines(capsys)
    assert line["value"].startswith("<object object")


def test_stopwatch_accumulates_stages() -> None:
    watch = jsonlog.Stopwatch()
    with watch.stage("a"):
        pass
    with watch.stage("a"):
        pass
    assert set(watch.timings_ms) == {"a"}
    assert watch.timings_ms["a"] >= 0


@pytest.mark.parametrize("raw", ["debug", " Warning ", None, ""])
def test_parse_level(raw) -> None:
    assert jsonlog.parse_level(raw) in jsonlog.VALID_LEVELS


def test_parse_level_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="must be one of"):
        jsonlog.parse_level("VERBOSE")
