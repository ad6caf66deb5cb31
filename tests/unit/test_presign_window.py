"""A presigned URL expires in time for its job to be analysed before the sweeper's deadline.

The deadline counts from the presign request, so the rule checked at preview is
`presignExpirySeconds + 2 x slowest analyzer timeout <= jobDeadlineSeconds`.
"""

from __future__ import annotations

import pytest

from components.settings import ConfigError, settings_from_mapping
from local.__main__ import DEMO_SETTINGS
from tests.support.config import BASE_CONFIG
from tests.support.local_cloud import LOCAL_TEST_SETTINGS

# Default analyzer timeouts: rekognition 30 s, custom and text 60 s -> 120 s of room.
ROOM = 120


def problems(raw: dict) -> str:
    try:
        settings_from_mapping("dev", {**BASE_CONFIG, **raw})
    except ConfigError as exc:
        return str(exc)
    return ""


def test_the_defaults_leave_the_room():
    s = settings_from_mapping("dev", BASE_CONFIG)
    assert s.presign_expiry_seconds + ROOM <= s.job_deadline_seconds


def test_a_url_outliving_the_analysis_room_is_refused_naming_both_settings_and_the_fix():
    msg = problems({"presignExpirySeconds": 900, "jobDeadlineSeconds": 900})
    assert "moderation:presignExpirySeconds = 900 leaves too little of" in msg
    assert "moderation:jobDeadlineSeconds = 900" in msg
    assert "presignExpirySeconds + 120 must be <= jobDeadlineSeconds" in msg
    assert (
        "Run `pulumi config set moderation:presignExpirySeconds 780` "
        "or `pulumi config set moderation:jobDeadlineSeconds 1020`." in msg
    )
    # Either fix, applied, is accepted.
    assert not problems({"presignExpirySeconds": 780, "jobDeadlineSeconds": 900})
    assert not problems({"presignExpirySeconds": 900, "jobDeadlineSeconds": 1020})


def test_the_boundary_is_exact():
    assert not problems({"presignExpirySeconds": 600, "jobDeadlineSeconds": 600 + ROOM})
    assert "leaves too little" in problems(
        {"presignExpirySeconds": 601, "jobDeadlineSeconds": 600 + ROOM}
    )


def test_the_room_follows_the_slowest_analyzer():
    slow = {"functions": {"text_analyzer": {"timeout": 300}}}
    assert "presignExpirySeconds + 600 must be" in problems(
        {**slow, "presignExpirySeconds": 600, "jobDeadlineSeconds": 900}
    )
    assert not problems({**slow, "presignExpirySeconds": 300, "jobDeadlineSeconds": 900})


def test_when_no_url_lifetime_fits_only_the_deadline_is_offered():
    msg = problems({"presignExpirySeconds": 60, "jobDeadlineSeconds": 150})
    assert "Run `pulumi config set moderation:jobDeadlineSeconds 180`." in msg
    assert "moderation:presignExpirySeconds 90" not in msg


@pytest.mark.parametrize(
    "name,raw",
    [
        ("local test cloud", LOCAL_TEST_SETTINGS),
        # `--set key=value` as `python -m local demo` passes them (values are JSON text).
        ("demo", dict(item.split("=", 1) for item in DEMO_SETTINGS)),
    ],
)
def test_the_local_stacks_keep_the_rule(name, raw):
    msg = problems(raw)
    assert "presignExpirySeconds" not in msg, (name, msg)
