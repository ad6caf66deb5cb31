"""The frames of an upload that the analyzers look at, and how their results combine.

A still image is one frame, analysed exactly as before. An animation (GIF, APNG,
animated WebP) is sampled, within `images.check_animation`'s limits, in one pass over
its frames (reaching frame k decodes every frame before it anyway):

- the first and the last frame;
- scene changes: the frames that differ most from the frame before them (mean absolute
  difference of 64x64 grey thumbnails, at least `SCENE_CHANGE`), up to half of the
  remaining budget, so a link shown for one frame of a hundred is caught;
- evenly spaced frames for the rest,

up to `moderation:animation.maxFrames` in all. Only candidates are kept while decoding
(the evenly spaced grid and the strongest changes so far), so memory is bounded by the
budget, not the frame count. Each branch analyses the sampled frames in one invocation;
`merge_signals` keeps, per category, the frame with the highest score (the most severe:
the decision takes the most severe category), and records that frame.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageStat

from common.contract import AnimationPolicy, FrameField
from common.images import AnimationRules, Rejection, check_animation, frame_count, open_image

# The mean absolute grey-level difference (0..1) between consecutive thumbnails that
# counts as a scene change; dithering and compression noise stay well below it.
SCENE_CHANGE = 0.02
THUMBNAIL = (64, 64)


@dataclass(frozen=True)
class Frame:
    index: int
    image: Image.Image
    change: float = 0.0  # difference from the frame before it (0 for the first)


@dataclass(frozen=True)
class Frames:
    count: int  # frames in the file
    frames: tuple[Frame, ...]  # the sampled ones, in order
    policy: str = AnimationPolicy.ANALYZE

    @property
    def animated(self) -> bool:
        return self.count > 1

    @property
    def indices(self) -> list[int]:
        return [f.index for f in self.frames]

    def record(self) -> dict[str, Any]:
        """What a branch result says about the frames (`frames`)."""
        return {
            FrameField.COUNT: self.count,
            FrameField.ANALYZED: self.indices,
            FrameField.POLICY: str(self.policy),
        }


def even_grid(count: int, budget: int) -> list[int]:
    """`budget` evenly spaced frame indices of `count`, the first and the last included."""
    if budget >= count:
        return list(range(count))
    if budget <= 1:
        return [0]
    return sorted({round(k * (count - 1) / (budget - 1)) for k in range(budget)})


def scene_slots(budget: int) -> int:
    """How many of the frames besides the first and the last go to scene changes."""
    return (max(budget - 2, 0) + 1) // 2


def _stronger(changes: Mapping[int, float]) -> list[int]:
    return sorted(changes, key=lambda i: (-changes[i], i))


def choose(count: int, changes: Mapping[int, float], budget: int) -> list[int]:
    """Which frames to analyse: pure, so the sampling is testable without images.

    `changes[i]` is frame i's difference from frame i-1. All frames when they fit;
    otherwise the first, the last, the strongest scene changes (at least SCENE_CHANGE)
    up to `scene_slots`, then the frames of the even grid nearest to an even spacing of
    what is left.
    """
    if count <= budget:
        return list(range(count))
    if budget <= 1:
        return [0]
    picked = {0, count - 1}
    scenes = {i: s for i, s in changes.items() if s >= SCENE_CHANGE and i not in picked}
    picked.update(_stronger(scenes)[: scene_slots(budget)])
    left = budget - len(picked)
    pool = [i for i in even_grid(count, budget) if i not in picked]
    for k in range(1, left + 1):
        target = k * (count - 1) / (left + 1)
        nearest = min(pool, key=lambda i: (abs(i - target), i))
        pool.remove(nearest)
        picked.add(nearest)
    return sorted(picked)


def _thumbnail(img: Image.Image) -> Image.Image:
    return img.convert("L").resize(THUMBNAIL, Image.Resampling.BOX)


def _difference(a: Image.Image, b: Image.Image) -> float:
    return float(ImageStat.Stat(ImageChops.difference(a, b)).mean[0]) / 255.0


def sample(data: bytes, rules: AnimationRules) -> Frames:
    """The frames to analyse. Raises ValueError for bytes that are not a sound image or an
    animation over the limits (the upload refuses both; the analyzers report them)."""
    img = open_image(data)
    count = frame_count(img, data)
    first = Frame(0, img)
    if count <= 1 or rules.policy != AnimationPolicy.ANALYZE:
        return Frames(count, (first,), rules.policy)
    try:
        check_animation(count, img.width, img.height, rules)
    except Rejection as rej:
        raise ValueError(rej.message) from rej
    budget = rules.sampled(count)
    grid = set(even_grid(count, budget))
    slots = scene_slots(budget)
    kept: dict[int, Frame] = {0: Frame(0, img.copy())}
    scenes: dict[int, float] = {}
    changes: dict[int, float] = {}
    previous = _thumbnail(img)
    for index in range(1, count):
        try:
            img.seek(index)
            img.load()
        except (OSError, SyntaxError, EOFError) as exc:
            raise ValueError(f"frame {index} of {count} could not be decoded: {exc}") from exc
        thumb = _thumbnail(img)
        change = _difference(previous, thumb)
        previous = thumb
        changes[index] = change
        candidate = index in grid
        if change >= SCENE_CHANGE and index != count - 1 and slots:
            scenes[index] = change
            if len(scenes) > slots:
                weakest = _stronger(scenes)[-1]
                del scenes[weakest]
                if weakest not in grid:
                    kept.pop(weakest, None)
            candidate = candidate or index in scenes
        if candidate:
            kept[index] = Frame(index, img.copy(), change)
    chosen = choose(count, changes, budget)
    return Frames(count, tuple(kept[i] for i in chosen), rules.policy)


def is_animated(data: bytes) -> bool:
    """Whether the bytes hold more than one frame, from the headers (nothing decoded)."""
    with Image.open(io.BytesIO(data)) as img:
        return frame_count(img, data) > 1


def tag(signal: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A signal from one frame of an animation: its frame, and its evidence says which."""
    return {
        **signal,
        FrameField.FRAME: index,
        "evidence": [f"frame {index}: {e}" for e in signal.get("evidence", []) or []],
    }


def merge_signals(
    per_frame: Sequence[tuple[int, Sequence[Mapping[str, Any]]]],
    every_frame: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One signal per category: the frame with the highest score, tagged with its frame.

    A category in `every_frame` describes the whole image (blank, off topic): it is kept
    only when every analysed frame reports it, with its lowest score.
    """
    best: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for index, signals in per_frame:
        for sig in signals:
            category = str(sig["category"])
            seen[category] = seen.get(category, 0) + 1
            current = best.get(category)
            score = float(sig.get("score", 0.0))
            if current is None:
                best[category] = tag(sig, index)
                continue
            held = float(current["score"])
            if (score < held) if category in every_frame else (score > held):
                best[category] = tag(sig, index)
    return [
        sig
        for category, sig in best.items()
        if category not in every_frame or seen[category] == len(per_frame)
    ]


def flatten(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """A frame as a viewer sees it: RGB, transparency composited over white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")
