"""Moderation thresholds from the function's environment (set from stack config)."""

from __future__ import annotations

from common import env
from common.contract import Env
from common.custom_analysis import CustomRules
from common.decision import Rules


def from_env() -> Rules:
    return Rules(
        min_confidence=env.number(Env.MIN_CONFIDENCE, 50.0),
        reject_threshold=env.number(Env.REJECT_THRESHOLD, 90.0),
        unsafe_categories=env.words(Env.UNSAFE_CATEGORIES),
    )


def custom_from_env() -> CustomRules:
    return CustomRules(
        blocklist=env.words(Env.BLOCKLIST_HASHES),
        max_distance=env.integer(Env.BLOCKLIST_MAX_DISTANCE, 10),
        min_side=env.integer(Env.MIN_IMAGE_SIDE, 64),
        max_aspect_ratio=env.number(Env.MAX_ASPECT_RATIO, 4.0),
    )
