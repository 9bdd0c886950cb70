"""Animated uploads through the whole pipeline on the local stack (the shared applied stack):
an animated GIF ends ``done`` with animated WebP and AVIF variants of the right frames and
timing (stills for JPEG), and the status, the record and the manifest say so; a hostile
animation ends ``rejected`` with its code (issue 24)."""

from __future__ import annotations

import io
import json
from typing import Any

import requests
from PIL import Image

from support import animations as anim

PROCESSING_TIMEOUT_SECONDS = 120
ANIMATES = {"image/webp": True, "image/avif": True, "image/jpeg": False, "image/png": False}


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
    for variant in status["variants"]:
        downloaded = requests.get(variant["url"], timeout=30)
        assert downloaded.status_code == 200
        assert downloaded.headers["Content-Type"] == variant["contentType"]
        animated = ANIMATES[variant["contentType"]]
        assert variant["animated"] is animated, variant
        frames = anim.decoded_frames(downloaded.content)
        if animated:
            kinds.add(variant["contentType"])
            assert [duration for _, duration in frames] == played, variant["name"]
            assert frames[0][0].size == (variant["width"], variant["height"])
            if variant["contentType"] == "image/webp":
                assert anim.loop_of(downloaded.content) == 0
        else:
            assert len(frames) == 1
            assert not getattr(Image.open(io.BytesIO(downloaded.content)), "is_animated", False)
    assert "image/webp" in kinds  # the default variants animate their WebP (and AVIF) sizes

    manifest = json.loads(
        aws_client("s3")
        .get_object(Bucket=local_stack_outputs["output_bucket"], Key=f"{upload_id}/manifest.json")[
            "Body"
        ]
        .read()
    )
    assert manifest["source"]["animation"] == status["animation"]
    frames_by_name = {variant["name"]: variant["frames"] for variant in manifest["variants"]}
    assert {variant["name"]: variant["animated"] for variant in status["variants"]} == {
        name: count > 1 for name, count in frames_by_name.items()
    }


def test_a_flood_of_tiny_frames_is_rejected_with_its_code(api) -> None:
    frames = [anim.GifFrame.fill(1, 1, index % 6, delay_cs=2) for index in range(6000)]
    upload_id = api.upload(anim.gif((4, 4), frames), "image/gif", "flood.gif")
    status = api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)
    assert status["status"] == "rejected", status
    assert status["error"]["code"] == "too_many_frames"
    assert status["variants"] == []
