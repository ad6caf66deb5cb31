"""The rule types of the analysis branches, with no third-party imports.

Every analyzer and the dispatcher read the rules (`rules.py`), but only the custom and
text analyzers carry Pillow and ONNX Runtime in their layers: the types a function reads
must not pull in the code of another branch, so they live here and not beside the
analysis code (`custom_analysis.py`, `text_analysis.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.contract import AnimationPolicy

DEFAULT_MAX_FRAMES = 8


@dataclass(frozen=True)
class CustomRules:
    blocklist: tuple[str, ...] = ()
    max_distance: int = 10
    min_side: int = 100
    max_aspect_ratio: float = 4.0
    blank_stddev: float = 4.0


@dataclass(frozen=True)
class TextRules:
    blocked_terms: tuple[str, ...] = ()
    max_text_chars: int = 1000


@dataclass(frozen=True)
class AnimationRules:
    """`moderation:animation`: how many frames are analysed, and what an animation gets."""

    max_frames: int = DEFAULT_MAX_FRAMES
    policy: str = AnimationPolicy.ANALYZE

    def sampled(self, count: int) -> int:
        """How many frames of a `count`-frame image the analyzers look at."""
        if count <= 1 or self.policy == AnimationPolicy.FIRST_FRAME_ONLY:
            return 1
        return min(count, self.max_frames)
