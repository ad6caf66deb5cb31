"""The local gateway hands JWT claims to Lambda as API Gateway's HTTP API does (payload 2.0)."""

from __future__ import annotations

from common import review
from local.runtime.gateway import _claim


def test_the_local_gateway_passes_an_array_claim_exactly_as_api_gateway_does():
    assert _claim(["moderators", "admins"]) == "[moderators admins]"
    assert _claim(["moderators"]) == "[moderators]"
    assert _claim([]) == "[]"
    assert _claim(True) == "true" and _claim(False) == "false"
    assert _claim(1767225600) == "1767225600"
    assert review.parse_groups(_claim(["moderators", "admins"])) == {"moderators", "admins"}
