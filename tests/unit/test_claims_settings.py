"""The claim, QA and appeal settings fail at preview, naming the setting and the fix."""

from __future__ import annotations

import pytest

from components.settings import ConfigError, settings_from_mapping
from tests.support.config import BASE_CONFIG


def refusal(**config) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("test", {**BASE_CONFIG, **config})
    return str(info.value)


def test_defaults_and_valid_values_pass():
    s = settings_from_mapping("test", dict(BASE_CONFIG))
    assert (s.review.claim_minutes, s.review.qa_sample_rate, s.appeals.window_days) == (15, 0.0, 14)
    s = settings_from_mapping(
        "test",
        {
            **BASE_CONFIG,
            "review": {"claimMinutes": 30, "qaSampleRate": 0.05},
            "appeals": {"windowDays": 7},
        },
    )
    assert (s.review.claim_minutes, s.review.qa_sample_rate, s.appeals.window_days) == (30, 0.05, 7)


@pytest.mark.parametrize("minutes", [0, 241])
def test_a_claim_outside_1_to_240_minutes_is_refused(minutes):
    message = refusal(review={"claimMinutes": minutes})
    assert "moderation:review.claimMinutes" in message
    assert "pulumi config set" in message and "review.claimMinutes" in message


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_qa_share_outside_0_to_1_is_refused(rate):
    assert "moderation:review.qaSampleRate" in refusal(review={"qaSampleRate": rate})


def test_an_appeal_window_longer_than_the_job_record_lives_is_refused():
    message = refusal(appeals={"windowDays": 40}, jobRetentionDays=30)
    assert "moderation:appeals.windowDays = 40" in message and "jobRetentionDays" in message
    assert "moderation:appeals.windowDays" in refusal(appeals={"windowDays": 0})
