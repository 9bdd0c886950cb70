"""tools/load.py in-process: the mix it plans and the statistics it reports."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from PIL import Image

from tools import load

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def planned() -> list[load.PlannedUpload]:
    return load.plan_uploads(40, 0.25, seed=3)


def test_the_mix_is_deterministic(planned):
    again = load.plan_uploads(40, 0.25, seed=3)

    assert [(p.kind, p.content_type, p.data) for p in planned] == [
        (p.kind, p.content_type, p.data) for p in again
    ]


def test_the_bad_share_and_every_rejection_kind_are_in_the_mix(planned):
    bad = [item for item in planned if item.expected_status == "rejected"]

    assert len(bad) == 10
    assert {item.expected_code for item in bad} == set(load.BAD_KINDS)


def test_good_uploads_have_mixed_sizes_and_formats_and_unique_dimensions(planned):
    good = [item for item in planned if item.expected_status == "done"]

    assert Counter(item.kind for item in good).keys() == {"small", "medium", "large"}
    assert {item.content_type for item in good} == set(load.PILLOW_FORMATS)
    assert len({(item.width, item.height) for item in good}) == len(good)
    for item in good:
        image = Image.open(io.BytesIO(item.data))
        assert image.size == (item.width, item.height)
        assert image.format == load.PILLOW_FORMATS[item.content_type]


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([1.0], 0.99, 1.0), ([3, 1, 2], 0.5, 2), (list(range(1, 101)), 0.95, 95), ([], 0.5, None)],
)
def test_percentile_is_nearest_rank(values, share, expected):
    assert load.percentile(values, share) == expected


@pytest.mark.parametrize(
    ("size", "max_edge", "expected"),
    [((3000, 2000), 1024, (1024, 683)), ((20000, 2), 128, (128, 1)), ((100, 50), 512, (100, 50))],
)
def test_fit_matches_the_documented_variant_size(size, max_edge, expected):
    assert load.fit(*size, max_edge) == expected
