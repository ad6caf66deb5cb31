"""Replacing a moto method once per process, keeping the original reachable.

The local cloud corrects a few moto behaviours (atomic DynamoDB operations, index
queries, FIFO topic deduplication) by wrapping moto's own methods. Each wrapper is
installed once, whoever asks first, and carries `__wrapped__` back to what it wraps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


def patch_once(cls: type, name: str, marker: str, wrap: Callable[[Callable], Callable]) -> None:
    """Set `cls.name` to `wrap(original)` unless a wrapper marked `marker` is there."""
    original = getattr(cls, name, None)
    if original is None or getattr(original, marker, False):
        return
    wrapper = functools.wraps(original)(wrap(original))
    setattr(wrapper, marker, True)
    setattr(cls, name, wrapper)
