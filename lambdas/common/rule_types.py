"""The rule types of the analysis branches, with no third-party imports.

Every analyzer and the dispatcher read the rules (`rules.py`), but only the custom and
text analyzers carry Pillow and ONNX Runtime in their layers: the types a function reads
must not pull in the code of another branch, so they live here and not beside the
analysis code (`custom_analysis.py`, `text_analysis.py`).
"""

from __future__ import annotations

from dataclasses import dataclass


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
