"""Animated uploads: frames per job, Rekognition calls per job, and latency per branch.

Each clip is the spam animation of `local/tools/safe_images.py` (a public-domain photo
panning, one frame showing a link and a phone number) as GIF, WebP and APNG; a still
JPEG of the same photo is the baseline. In one process, as an analyzer's execution
environment would: the upload's validation (`images.inspect`: header limits, then every
frame decoded once), and each branch's analysis in one call over the sampled frames with
the real models (custom: open_nsfw + BlazeFace; text: RapidOCR; Rekognition: the local
stand-in behind its format checks, one JPEG per frame). The frame bomb (10,000 tiny
frames) is timed to its refusal. `--quick`: 12-frame clips, 2 rounds.

    python -m bench.animations [--rounds 5] [--frames 48] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from typing import Any

from bench.machine import describe

FORMATS = (("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png"))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)


class StandIn:
    """The local Rekognition stand-in as boto3's client shape, counting calls."""

    def __init__(self) -> None:
        from common.models.base import model_dir
        from local.twins.rekognition_model import RekognitionStandIn

        self.model = RekognitionStandIn(model_dir(), threads=1)
        self.model.load()
        self.calls = 0
        self.stored = b""  # what an S3Object names: the clip being measured

    def detect_moderation_labels(self, Image, MinConfidence):  # noqa: N803 - boto3's names
        from local.twins import rekognition as twin

        self.calls += 1
        data = self.stored if "S3Object" in Image else Image["Bytes"]
        return self.model.detect_moderation_labels(twin.open_checked(data), MinConfidence)


class Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_object(self, Bucket, Key):  # noqa: N803
        return {"Body": io.BytesIO(self.data)}


def clips(frames: int) -> dict[str, tuple[str, bytes]]:
    from local.tools.safe_images import photo_frames, spam_animation

    still = io.BytesIO()
    photo_frames(1)[0].save(still, "JPEG", quality=90)
    out = {"still JPEG": ("image/jpeg", still.getvalue())}
    for fmt, content_type in FORMATS:
        out[f"{fmt} {frames} frames"] = (
            content_type,
            spam_animation(fmt, count=frames, spam_at=frames * 2 // 3),
        )
    return out


def measure(rounds: int, frames: int) -> dict[str, Any]:
    from common import custom_analysis, images, rekognition, text_analysis
    from common.decision import Rules, decide
    from common.images import AnimationRules
    from local.tools.fixtures import tiny_frame_gif

    custom = custom_analysis.default_models()
    custom.load()
    ocr = text_analysis.default_model()
    ocr.load()
    rek = StandIn()
    rules = AnimationRules()
    out: dict[str, Any] = {}
    for name, (content_type, data) in clips(frames).items():
        timings: dict[str, list[float]] = {
            "upload": [],
            "custom": [],
            "text": [],
            "rekognition": [],
        }
        calls: list[int] = []
        result: dict[str, Any] = {}
        for _ in range(rounds + 1):  # the first round warms up and is not counted
            round_ms: dict[str, float] = {}
            started = time.perf_counter()
            info = images.inspect(data, content_type, 15 * 1024 * 1024, rules)
            round_ms["upload"] = _ms(started)
            started = time.perf_counter()
            result["custom"] = custom_analysis.analyze(
                data, custom_analysis.CustomRules(), custom, animation=rules
            )
            round_ms["custom"] = _ms(started)
            started = time.perf_counter()
            result["text"] = text_analysis.analyze(
                data, text_analysis.TextRules(), ocr, animation=rules
            )
            round_ms["text"] = _ms(started)
            before, rek.stored = rek.calls, data
            started = time.perf_counter()
            result["rekognition"] = rekognition.detect(
                rek, Bytes(data), "b", "k", 50.0, content_type, animation=rules
            )
            round_ms["rekognition"] = _ms(started)
            calls.append(rek.calls - before)
            for branch, took in round_ms.items():
                timings[branch].append(took)
        for branch in timings:
            timings[branch] = timings[branch][1:]
        calls = calls[1:]
        analysed = (result["text"].get("frames") or {}).get("analyzed", [0])
        text_signals = {s["category"]: s.get("frame") for s in result["text"]["signals"]}
        verdict = decide(result, Rules())
        per_job = [sum(t) for t in zip(*(timings[b] for b in ("custom", "text")), strict=True)]
        out[name] = {
            "bytes": len(data),
            "frames_in_file": info.frames,
            "frames_per_job": len(analysed),
            "rekognition_calls_per_job": statistics.fmean(calls),
            "latency_ms": {
                branch: {"p50": _p(values, 0.5), "p95": _p(values, 0.95)}
                for branch, values in timings.items()
            },
            "slowest_branch_ms_p50": _p(
                [
                    max(c, t, r)
                    for c, t, r in zip(
                        timings["custom"], timings["text"], timings["rekognition"], strict=True
                    )
                ],
                0.5,
            ),  # fmt: skip
            "custom_plus_text_ms_p50": _p(per_job, 0.5),
            "flagged": text_signals,
            "decision": str(verdict.decision),
        }
    bomb = tiny_frame_gif(10_000)
    started = time.perf_counter()
    try:
        images.inspect(bomb, "image/gif", 15 * 1024 * 1024, rules)
        refused = "accepted"
    except images.Rejection as rej:
        refused = rej.error
    return {
        "clips": out,
        "frame_bomb": {
            "frames": 10_000,
            "bytes": len(bomb),
            "refused": refused,
            "refused_in_ms": _ms(started),
        },  # fmt: skip
        "max_frames": rules.max_frames,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rounds, frames = (2, 12) if args.quick else (args.rounds, args.frames)
    result = {"machine": describe(), "rounds": rounds, **measure(rounds, frames)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
