"""Animated uploads through the whole pipeline on the local stack (the shared applied stack):
an animated GIF ends ``done`` with animated WebP and AVIF variants of the right frames and
timing (stills for JPEG) in every size, and the status (per size and per source), the record
and the manifest (frames per source) say so; a hostile animation ends ``rejected`` with its
code (issue 24)."""

from __future__ import annotations

import io
import json
from typing import Any

import requests
from PIL import Image

from common import contract
from support import animations as anim

PROCESSING_TIMEOUT_SECONDS = 120


def moving_gif() -> tuple[bytes, list[int]]:
    """8 frames of 96x64, each a different colour band at a different place, with delays of
    0, 1, 5 and 20 cs (0 and 1 cs play as 100 ms), looping for ever."""
    frames = []
    delays = [0, 1, 5, 20, 5, 20, 5, 20]
    for index, delay in enumerate(delays):
        rows = [[(index + row // 8) % 8 for _ in range(96)] for row in range(64)]
        frames.append(anim.GifFrame(rows, delay_cs=delay, disposal=1))
    played = [100 if delay <= 1 else delay * 10 for delay in delays]
    return anim.gif((96, 64), frames, loop=0), played


def test_an_animated_gif_becomes_animated_webp_and_avif(
    api, aws_client, local_stack_outputs: dict[str, Any]
) -> None:
    data, played = moving_gif()
    upload_id = api.upload(data, "image/gif", "moving.gif")
    status = api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)
    assert status["status"] == "done", status
    assert status["animation"] == {"frames": 8, "durationMs": sum(played), "loop": 0}

    kinds = set()
    for size in status["variants"]:
        assert size["sources"], size
        for source in size["sources"]:
            downloaded = requests.get(source["url"], timeout=30)
            assert downloaded.status_code == 200
            assert downloaded.headers["Content-Type"] == source["type"]
            assert len(downloaded.content) == source["bytes"]
            animated = contract.OUTPUT_FORMATS[source["format"]]["animates"]
            assert source["animated"] is animated, (size["name"], source)
            frames = anim.decoded_frames(downloaded.content)
            if animated:
                kinds.add(source["format"])
                assert [duration for _, duration in frames] == played, (size["name"], source)
                assert frames[0][0].size == (size["width"], size["height"])
                if source["format"] == "webp":
                    assert anim.loop_of(downloaded.content) == 0
            else:
                assert len(frames) == 1
                still = Image.open(io.BytesIO(downloaded.content))
                assert not getattr(still, "is_animated", False)
                assert still.size == (size["width"], size["height"])
        # a size animates when one of its sources does (every default size has webp or avif)
        assert size["animated"] is any(source["animated"] for source in size["sources"])
        assert size["animated"] is True, size
    assert kinds == {"webp", "avif"}  # the default sizes animate their WebP and AVIF formats

    manifest = json.loads(
        aws_client("s3")
        .get_object(Bucket=local_stack_outputs["output_bucket"], Key=f"{upload_id}/manifest.json")[
            "Body"
        ]
        .read()
    )
    assert manifest["source"]["animation"] == status["animation"]
    frames = {
        (size["name"], source["format"]): source["frames"]
        for size in manifest["variants"]
        for source in size["sources"]
    }
    assert {
        (size["name"], source["format"]): source["animated"]
        for size in status["variants"]
        for source in size["sources"]
    } == {output: count > 1 for output, count in frames.items()}
    assert {output: count for output, count in frames.items() if count > 1} == {
        output: 8 for output in frames if output[1] in kinds
    }
    assert {size["name"]: size["animated"] for size in manifest["variants"]} == {
        size["name"]: size["animated"] for size in status["variants"]
    }


def test_a_flood_of_tiny_frames_is_rejected_with_its_code(api) -> None:
    frames = [anim.GifFrame.fill(1, 1, index % 6, delay_cs=2) for index in range(6000)]
    upload_id = api.upload(anim.gif((4, 4), frames), "image/gif", "flood.gif")
    status = api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)
    assert status["status"] == "rejected", status
    assert status["error"]["code"] == "too_many_frames"
    assert status["variants"] == []
