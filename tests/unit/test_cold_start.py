"""What a cold start imports: libheif (pi-heif) only once an ISOBMFF file arrives.

Each check runs in a fresh interpreter (an import is process-wide state), importing the
processor's handler as Lambda's init does. Loading pi-heif costs about 30 ms of CPU per cold
start with the layer laid out as Lambda does (docs/benchmarks.md, "The libvips gap and cold
start").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.lambda_env import PROCESSOR_ENV, REGION

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "support" / "corpus"

PROBE = """
import io, json, sys
from PIL import Image
import processor.handler  # the function's init
from processor import imaging

def heif_loaded():
    return "pi_heif" in sys.modules or "HEIF" in Image.OPEN

limits = imaging.Limits(allowed_formats=("JPEG", "PNG", "WEBP", "GIF", "HEIF", "AVIF"))
specs = [imaging.VariantSpec("thumb", 64, "jpeg")]
seen = {"after_init": heif_loaded()}
buffer = io.BytesIO()
Image.new("RGB", (80, 60), (200, 40, 40)).save(buffer, "JPEG")
imaging.process_image(buffer.getvalue(), specs, limits)
seen["after_jpeg"] = heif_loaded()
try:
    imaging.process_image(b"not an image at all, just text", specs, limits)
except imaging.ImageRejected as error:
    seen["garbage"] = error.code
seen["after_garbage"] = heif_loaded()
heic = imaging.process_image(open(sys.argv[1], "rb").read(), specs, limits)
seen["heic"] = [heic.source.format, heic.source.width, heic.source.height]
seen["after_heic"] = heif_loaded()
print(json.dumps(seen))
"""


def test_pi_heif_is_loaded_by_the_first_heif_input_not_by_init() -> None:
    env = {
        **os.environ,
        **PROCESSOR_ENV,
        "ALLOWED_FORMATS": "JPEG,PNG,WEBP,GIF,HEIF,AVIF",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "PYTHONPATH": str(REPO / "lambda_src"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, str(CORPUS / "rainbow-451x461.heic")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    assert seen == {
        "after_init": False,
        "after_jpeg": False,
        "garbage": "not_an_image",
        "after_garbage": False,
        "heic": ["HEIF", 451, 461],
        "after_heic": True,
    }
