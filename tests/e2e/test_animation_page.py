"""An animated GIF through the page in Chromium (issue 24): the row shows a card per size,
labels the animated sizes and, on each card, the animated formats; Chromium's own image decoder
reads each animated format's bytes as an animation with the source's frames and timing (each
still format as one frame), and the card's <picture> shows the animated format."""

from __future__ import annotations

import base64
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import SETTLE_TIMEOUT_MS, natural_sizes, row_for, wait_for_row_status

from support import animations as anim

ANIMATED_FORMATS = {"webp", "avif"}  # rules.json output_formats.*.animates
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# Chromium's WebCodecs ImageDecoder: frame count, whether it animates, each frame's duration.
DECODE = """async ({data, type}) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const decoder = new ImageDecoder({data: bytes, type});
    await decoder.tracks.ready;
    const track = decoder.tracks.selectedTrack;
    const durations = [];
    for (let index = 0; index < track.frameCount; index += 1) {
        const {image} = await decoder.decode({frameIndex: index});
        durations.push(Math.round(image.duration / 1000));
        image.close();
    }
    return {animated: track.animated, frames: track.frameCount, durations};
}"""


def moving_gif() -> tuple[bytes, list[int]]:
    delays = [0, 5, 20, 5, 20, 5]
    frames = [
        anim.GifFrame(
            [[(index + row // 8) % 8 for _ in range(96)] for row in range(64)], delay_cs=d
        )
        for index, d in enumerate(delays)
    ]
    return anim.gif((96, 64), frames, loop=0), [100 if d <= 1 else d * 10 for d in delays]


def test_an_animated_gif_shows_animated_sizes_labelled(
    app: Any, web_config: dict, tmp_path: Path
) -> None:
    data, played = moving_gif()
    path = tmp_path / "moving.gif"
    path.write_bytes(data)

    app.set_input_files("#file-input", str(path))
    wait_for_row_status(app, "moving.gif", ("done",), SETTLE_TIMEOUT_MS)

    sizes = natural_sizes(app, "moving.gif")
    assert set(sizes) == {size["name"] for size in web_config["variants"]}
    row = row_for(app, "moving.gif")
    for size in web_config["variants"]:
        card = row.locator(f".variant[data-size='{size['name']}']")
        moving = [name for name in size["formats"] if name in ANIMATED_FORMATS]
        facts = card.locator(".variant__facts").inner_text()
        assert facts.endswith("animated") is bool(moving), facts
        links = card.locator(".variant__formats a[data-format]")
        urls = dict(links.evaluate_all("(links) => links.map((a) => [a.dataset.format, a.href])"))
        assert list(urls) == size["formats"]
        for name, url in urls.items():
            item = card.locator(".variant__formats li").filter(
                has=app.locator(f"a[data-format='{name}']")
            )
            label = item.inner_text()
            assert label.endswith("animated") is (name in ANIMATED_FORMATS), label
            with urllib.request.urlopen(url, timeout=30) as response:
                body, content_type = response.read(), response.headers["Content-Type"]
            decoded = app.evaluate(
                DECODE, {"data": base64.b64encode(body).decode(), "type": content_type}
            )
            if name in ANIMATED_FORMATS:
                assert decoded == {"animated": True, "frames": 6, "durations": played}, name
            else:
                assert (decoded["animated"], decoded["frames"]) == (False, 1), name
        # the card's <picture> shows the first format Chromium reads: the animated one
        shown = card.locator("img[data-variant]").evaluate("(img) => img.currentSrc")
        assert shown == urls[size["formats"][0]]
        assert size["formats"][0] in moving
    assert app.probe.page_errors == []
