import json
from pathlib import Path

import pytest

from intake.event_sources import source_kind

EVENTS = Path(__file__).parents[3] / "events"


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.name)
def test_every_sample_event_is_recognised_by_its_file_name(path):
    expected = {
        "http-api": "http",
        "rest-api": "http",
        "function-url": "http",
        "eventbridge": "eventbridge",
        "sqs": "sqs",
        "direct": "direct",
    }
    prefix = next(p for p in expected if path.name.startswith(p))
    assert source_kind(json.loads(path.read_text())) == expected[prefix]


def test_anything_else_is_a_direct_invoke():
    assert source_kind({"Records": [{"eventSource": "aws:s3"}]}) == "direct"
    assert source_kind(["a"]) == "direct"
    assert source_kind({"detail": {}}) == "direct"
