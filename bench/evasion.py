"""The text branch against evasions: recall per trick, the benign text and safe photos'
decisions, and what the evasion handling costs per image.

Every case of `local/tools/evasions.py` (generated now, nothing stored) goes through
the text branch's whole per-image analysis (`text_analysis.analyze_image`: OCR with
its upside-down re-read, QR codes and barcodes, the normalised rules) and the decision
rules with their defaults; a case counts as caught when the decision is review or
reject. The benign text and the safe photos must stay approve.

Latency: each safe photo is analysed `--runs` times (after one warm-up) by the whole
analysis and, interleaved, by OCR alone as it was before (`RapidOcr` detection and
recognition without the re-read, no codes, no normalisation), so the two figures share
the machine's load.

    python -m bench.evasion [--variants 2] [--runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas")]

from bench.machine import describe  # noqa: E402
from common import text_analysis  # noqa: E402
from common.contract import Branch, Decision  # noqa: E402
from common.decision import Rules, decide  # noqa: E402
from local.tools import evasions  # noqa: E402

GOALS = {"recall": 0.9, "safe_photos_flagged": 0, "benign_text_flagged": 0}
FLAGGED = (Decision.REVIEW, Decision.REJECT)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _plain_ocr(ocr: Any, image: Any) -> Any:
    """OCR as the text branch ran it before: rapidocr's own pipeline, nothing added."""
    from common.models.base import to_rgb

    return ocr._engine(to_rgb(image))


def run(variants: int, runs: int) -> dict[str, Any]:
    ocr = text_analysis.default_model()
    ocr.load()
    rules, decision_rules = text_analysis.TextRules(), Rules()

    def verdict(image: Any) -> tuple[str, list[str], float]:
        started = time.perf_counter()
        result = text_analysis.analyze_image(image, rules, ocr)
        took = (time.perf_counter() - started) * 1000
        found = decide({Branch.TEXT: result}, decision_rules)
        return str(found.decision), [f.category for f in found.findings], took

    per_trick: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "caught": 0})
    expected_category = 0
    missed, times = [], []
    cases = evasions.cases(variants)
    for case in cases:
        decision, categories, took = verdict(case.image)
        times.append(took)
        stats = per_trick[case.trick]
        stats["cases"] += 1
        if decision in FLAGGED:
            stats["caught"] += 1
            expected_category += case.expect in categories
        else:
            missed.append(case.name)
    caught = sum(s["caught"] for s in per_trick.values())

    negatives: dict[str, dict[str, str]] = {"safe_photo": {}, "benign_text": {}}
    for case in evasions.safe_photos() + evasions.benign():
        negatives[case.trick][case.name] = verdict(case.image)[0]

    whole: list[float] = []
    before: list[float] = []
    cpu_whole: list[float] = []
    cpu_before: list[float] = []
    for case in evasions.safe_photos():
        for i in range(runs + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            _plain_ocr(ocr, case.image)
            t1, c1 = time.perf_counter(), time.process_time()
            text_analysis.analyze_image(case.image, rules, ocr)
            t2, c2 = time.perf_counter(), time.process_time()
            if i:
                before.append((t1 - t0) * 1000)
                whole.append((t2 - t1) * 1000)
                cpu_before.append((c1 - c0) * 1000)
                cpu_whole.append((c2 - c1) * 1000)

    def flagged(kind: str) -> int:
        return sum(1 for d in negatives[kind].values() if d in FLAGGED)

    recall = round(caught / len(cases), 4)
    return {
        "cases": len(cases),
        "caught": caught,
        "recall": recall,
        "caught_as_expected_category": expected_category,
        "per_trick": {
            k: {**v, "recall": round(v["caught"] / v["cases"], 3)}
            for k, v in sorted(per_trick.items())
        },
        "missed": missed,
        "safe_photos": negatives["safe_photo"],
        "safe_photos_flagged": flagged("safe_photo"),
        "benign_text": negatives["benign_text"],
        "benign_text_flagged": flagged("benign_text"),
        "evasion_case_ms": {"p50": _pct(times, 0.5), "p95": _pct(times, 0.95)},
        "safe_photo_ms": {
            "runs_per_photo": runs,
            "whole_analysis": {"p50": _pct(whole, 0.5), "p95": _pct(whole, 0.95)},
            "ocr_alone_as_before": {"p50": _pct(before, 0.5), "p95": _pct(before, 0.95)},
            "whole_analysis_cpu_p50": round(statistics.median(cpu_whole), 1),
            "ocr_alone_cpu_p50": round(statistics.median(cpu_before), 1),
        },
        "goals": GOALS,
        "meets_goals": recall >= GOALS["recall"]
        and flagged("safe_photo") == 0
        and flagged("benign_text") == 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", type=int, default=2, help="renderings per trick text")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per safe photo")
    parser.add_argument("--quick", action="store_true", help="--variants 1 --runs 5")
    args = parser.parse_args(argv)
    variants, runs = (1, 5) if args.quick else (args.variants, args.runs)
    result = {"benchmark": "evasion", "machine": describe(), "variants": variants}
    result.update(run(variants, runs))
    print(json.dumps(result, indent=2))
    return 0 if result["meets_goals"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
