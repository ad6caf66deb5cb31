"""The AWS cost of 1M jobs: this design, measured on the local cloud, next to the reference design.

This design's figures are measured from a local run: invocations, billed
duration and memory per function (REPORT lines and the environments' counters),
every AWS API call each function made (counted in the execution environments),
and DynamoDB write units computed from the items the run actually wrote.

The reference design is the code of the course notes' "Content moderation pipeline" section
(docs/reference-design.md)
as written: 128 MB x86 functions, the upload writes S3/DynamoDB/SQS, the
dispatcher invokes both analyzers and then sets `analyzing`, each analyzer writes
its result, reads the item back (GetItem, strongly consistent), claims with a
conditional write and the claimer writes the decision and publishes to SNS. Its
durations are this run's, except the custom analyzer, whose CPU-bound work runs
at the 128 MB CPU share (Lambda's CPU follows memory), and it has no notifier,
sweeper, status index, alarms or KMS key. Both are priced with the dashboard's
cost model and the same per-job Rekognition, S3, SQS, SNS and status-poll usage.

Calling Rekognition less (docs/cost.md#calling-rekognition-less): the workload is
a sequence of images of which `--repeat-share` (25%) are byte-identical repeats of
earlier ones in the sequence, as reposts are, and `--decisive-share` (5%) are
blocklisted (their dHashes, computed with the custom analyzer's own code, are the
stack's `blocklistHashes` in every mode); the rest are distinct fixtures. The same
sequence runs on a fresh local cloud per mode: verdict reuse off, reuse on, and reuse
on with `analysisOrder: custom-first`. Each is priced from its own run (the analyzers'
figures per job that ran them, and the shares of reused and Rekognition-skipped jobs
its job records show), next to the reference design priced from the reuse-off run.
`--reencode-share` (15%) are re-encoded repeats: an earlier original decoded and saved
again as a JPEG of quality 80, as another app recompresses a repost (a fixture whose
labels the Rekognition stand-in reads from a PNG text chunk keeps the chunk on a PNG of
the recompressed pixels: the stand-in's answer for those pixels; the others are labelled
by the stand-in's model from the new pixels). The fourth mode adds
`verdictReuse.nearDuplicate` to custom-first. `decisions_identical` compares each
position's decision across the modes.
The design's columns (`this_design`, like for like, month 12) are the reuse-off run:
the same analysis work as the reference design.

    python -m bench.cost [--jobs 1000] [--rate 2] [--repeat-share 0.25]
                         [--reencode-share 0.15] [--decisive-share 0.05] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from bench.localcloud import FAST, fresh_cloud
from bench.machine import describe
from dashboard.data.cost import FunctionLoad, Workload, estimate
from lambdas.common.contract import AnalysisOrder, Function, JobAttr, Output, Status
from local.tools import fixtures
from local.tools.load import LoadSummary, percentiles, run_load

MILLION = 1_000_000
SEED_MEMORY_MB = 128
QUICK_JOBS = 120
WARMUP_JOBS = 20
# The goal: reuse on + custom-first costs at most this share of the reference design.
GOAL_RATIO = 0.75
# ...and with near-duplicate reuse, on 25% exact and 15% re-encoded repeats, this share.
NEAR_GOAL_RATIO = 0.55
REENCODE_QUALITY = 80

# Each mode's settings on top of FAST and the workload's blocklist.
MODES: dict[str, dict[str, Any]] = {
    "reuse_off": {"verdictReuse": {"enabled": False}},
    "reuse_on": {"verdictReuse": {"enabled": True}},
    "reuse_on_custom_first": {
        "verdictReuse": {"enabled": True},
        "analysisOrder": str(AnalysisOrder.CUSTOM_FIRST),
    },
    "near_duplicate": {
        "verdictReuse": {"enabled": True, "nearDuplicate": True},
        "analysisOrder": str(AnalysisOrder.CUSTOM_FIRST),
    },
}
NEAR_MODE = "near_duplicate"
BASE_MODE = "reuse_off"
ANALYZERS = (Function.REKOGNITION_ANALYZER, Function.CUSTOM_ANALYZER, Function.TEXT_ANALYZER)
# A verdict lookup reads two items (the verdict, the Rekognition version), eventually
# consistent: half a read unit each, found or not.
LOOKUP_RRU = 2 * 0.5
# A near-duplicate lookup's BatchGetItem reads at most 17 small items (16 slices and the
# version; the second call fewer): priced at 17 half units each, an upper bound.
NEAR_LOOKUP_RRU = 17 * 0.5
# Filing an image: its result item and 16 slice items, a unit each while they are small.
NEAR_FILE_WRU = 17


# --- the workload: distinct images, reposts, blocklisted images ------------------------------

# The fixtures' mix without its one blocklisted image (the same bytes every time): the
# blocklisted images of this workload are the decisive share, each its own.
DISTINCT_KINDS = tuple(k for k in fixtures.MIX if k != "blocklisted")
DECISIVE_SEED_BASE = 700_000_000


def blocklist_max_distance() -> int:
    """The stack's default `blocklistMaxDistance`: how near a dHash counts as a match."""
    from components.settings.model import StackSettings

    return int(StackSettings.__dataclass_fields__["blocklist_max_distance"].default)


def image_dhash(data: bytes) -> str:
    """The custom analyzer's own dHash of an image's bytes."""
    from common.images import dhash, open_image

    return dhash(open_image(data))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@dataclass(frozen=True)
class Item:
    """One upload of the workload: `distinct` (a fixture kind), `decisive`, `repeat` (the
    same bytes) or `reencoded` (the same picture, recompressed)."""

    kind: str
    fixture: str
    data: bytes
    content_type: str
    source: int | None = None  # a repeat: the position of the original it repeats

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class CostWorkload:
    items: tuple[Item, ...]
    blocklist: tuple[str, ...]  # the decisive images' dHashes
    seed: int
    # Where each wave starts: a wave is sent once the one before it has completed, and a
    # repeat only repeats an image of an earlier wave (a repost of something decided).
    wave_starts: tuple[int, ...] = (0,)

    def waves(self) -> list[tuple[int, list[tuple[bytes, str]]]]:
        """(first position, uploads) of each wave."""
        uploads = self.uploads()
        bounds = [*self.wave_starts, len(uploads)]
        return [(a, uploads[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]

    def uploads(self) -> list[tuple[bytes, str]]:
        return [(i.data, i.content_type) for i in self.items]

    def describe(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for item in self.items:
            kinds[item.kind] = kinds.get(item.kind, 0) + 1
        n = len(self.items)
        repeats = kinds.get("repeat", 0)
        return {
            "jobs": n,
            "seed": self.seed,
            "distinct_images": len({i.sha256 for i in self.items}),
            "repeats": repeats,
            "repeat_share": round(repeats / n, 3) if n else 0.0,
            "reencoded": kinds.get("reencoded", 0),
            "reencode_share": round(kinds.get("reencoded", 0) / n, 3) if n else 0.0,
            "decisive_originals": kinds.get("decisive", 0),
            "decisive_share": round(sum(1 for i in self.items if i.fixture == "decisive") / n, 3)
            if n
            else 0.0,
            "blocklist_hashes": len(self.blocklist),
            "by_fixture": dict(
                sorted(
                    {
                        f: sum(1 for i in self.items if i.fixture == f)
                        for f in {i.fixture for i in self.items}
                    }.items()
                )
            ),
        }


def build_workload(
    jobs: int,
    repeat_share: float = 0.25,
    decisive_share: float = 0.05,
    seed: int = 5,
    avoid: frozenset[str] = frozenset(),
    max_distance: int | None = None,
    waves: int = 4,
    reencode_share: float = 0.0,
) -> CostWorkload:
    """`jobs` uploads: round(jobs * repeat_share) repeats, round(jobs * reencode_share)
    re-encoded repeats, round(jobs * decisive_share) blocklisted originals, distinct
    fixtures for the rest (none in `avoid`, sha256s).

    The sequence is sent in `waves`; a repeat copies the bytes of an original of an
    earlier wave, drawn uniformly (a repost of something decided before: a repeat sent
    while its original is still being analyzed would be analyzed too, and measure the
    machine's backlog rather than reuse); the first wave holds no repeats. No distinct
    image is within `max_distance` bits of a blocklisted dHash (it would be blocklisted
    too), and no two originals share their bytes.
    """
    for name, share in (
        ("repeat_share", repeat_share),
        ("reencode_share", reencode_share),
        ("decisive_share", decisive_share),
    ):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} = {share} must be within 0..1")
    if repeat_share + reencode_share + decisive_share > 1.0:
        raise ValueError("repeat_share + reencode_share + decisive_share must not exceed 1")
    distance = blocklist_max_distance() if max_distance is None else max_distance
    rng = random.Random(seed)
    waves = max(1, min(waves, jobs))
    wave_starts = tuple(sorted({jobs * w // waves for w in range(waves)}))
    wave_of = {p: max(i for i, start in enumerate(wave_starts) if start <= p) for p in range(jobs)}
    later = [p for p in range(jobs) if wave_of[p] > 0] if waves > 1 else list(range(1, jobs))
    repeats = min(round(jobs * repeat_share), len(later))
    repeat_at = set(rng.sample(later, repeats)) if repeats else set()
    rest = [p for p in later if p not in repeat_at]
    reencodes = min(round(jobs * reencode_share), len(rest))
    reencode_at = set(rng.sample(rest, reencodes)) if reencodes else set()
    originals = [i for i in range(jobs) if i not in repeat_at and i not in reencode_at]
    decisive_at = set(rng.sample(originals, min(round(jobs * decisive_share), len(originals))))
    seen = set(avoid)
    blocklist: list[str] = []
    decisive: dict[int, Item] = {}
    next_seed = DECISIVE_SEED_BASE + seed * 10_000
    for position in sorted(decisive_at):
        while True:
            next_seed += 1
            data = fixtures.png(seed=next_seed, labels=[])
            digest = image_dhash(data)
            sha = hashlib.sha256(data).hexdigest()
            if sha not in seen and all(hamming(digest, b) > distance for b in blocklist):
                break
        seen.add(sha)
        blocklist.append(digest)
        decisive[position] = Item("decisive", "decisive", data, "image/png")
    items: list[Item] = []
    fixture_seed = seed * 100_000
    for position in range(jobs):
        if position in repeat_at or position in reencode_at:
            earlier = wave_starts[wave_of[position]] if waves > 1 else position
            picked = rng.randrange(earlier)
            # A repeat of a repeat is a repeat of its original.
            source = items[picked].source
            source = picked if source is None else source
            original = items[source]
            if position in repeat_at:
                items.append(
                    Item("repeat", original.fixture, original.data, original.content_type, source)
                )
            else:
                data, content_type = reencoded(original.data)
                seen.add(hashlib.sha256(data).hexdigest())
                items.append(Item("reencoded", original.fixture, data, content_type, source))
            continue
        if position in decisive:
            items.append(decisive[position])
            continue
        while True:
            fixture_seed += 1
            kind = rng.choice(DISTINCT_KINDS)
            fx = fixtures.make(kind, fixture_seed)
            sha = hashlib.sha256(fx.data).hexdigest()
            if sha in seen:
                continue  # e.g. the seventh rotation of the one portrait
            if blocklist and min(hamming(image_dhash(fx.data), b) for b in blocklist) <= distance:
                continue
            break
        seen.add(sha)
        items.append(Item("distinct", kind, fx.data, fx.content_type))
    return CostWorkload(tuple(items), tuple(blocklist), seed, wave_starts)


def reencoded(data: bytes) -> tuple[bytes, str]:
    """The picture of `data` recompressed by another app: decoded and saved as a JPEG of
    quality 80. A fixture whose labels the Rekognition stand-in reads from a PNG text
    chunk keeps them on a PNG of the recompressed pixels (the stand-in's answer for those
    pixels; a JPEG has no text chunk)."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data))
    labels = img.info.get(fixtures.LABEL_CHUNK)
    buffer = io.BytesIO()
    img.convert("RGB").save(buffer, "JPEG", quality=REENCODE_QUALITY)
    if labels is None:
        return buffer.getvalue(), "image/jpeg"
    pixels = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return fixtures.encode(pixels, "PNG", json.loads(labels)), "image/png"


# --- DynamoDB item sizes (AWS's rules: name bytes + value bytes) -----------------------------


def attribute_size(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool):
        return 1
    if isinstance(value, (int, float, Decimal)):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return 3 + sum(attribute_size(v) + 1 for v in value)
    return len(str(value).encode())


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in item.items())


def wru(before: dict | None, after: dict) -> int:
    """Write units of one write: the larger of the item before and after, per KB."""
    size = max(item_size(before or {}), item_size(after))
    return max(1, math.ceil(size / 1024))


REUSE_FINAL = (
    JobAttr.DECISION,
    JobAttr.REASONS,
    JobAttr.CATEGORIES,
    JobAttr.COMPLETED_AT,
    JobAttr.REUSED_FROM,
    JobAttr.REVIEW_STATE,
)


def reused_write_units(job: dict) -> tuple[int, int]:
    """(table WRU, status-index WRU) of a job completed from a stored verdict: its
    creation and the one conditional write that completes it."""
    created = {k: v for k, v in job.items() if k not in REUSE_FINAL}
    created[JobAttr.STATUS] = "pending"
    # The status index: a put at creation, a delete and a put at completion.
    return wru(None, created) + wru(created, job), 1 + 2


def this_design_write_units(job: dict) -> tuple[int, int]:
    """(table WRU, status-index WRU) of one completed job, replaying its 3 + N writes."""
    if job.get(JobAttr.REUSED_FROM):
        return reused_write_units(job)
    branches = job.get(JobAttr.BRANCHES) or ("rekognition", "custom")
    results = [f"{b}_result" for b in branches if f"{b}_result" in job]
    final_only = (
        JobAttr.DECISION,
        JobAttr.REASONS,
        JobAttr.CATEGORIES,
        JobAttr.COMPLETED_AT,
        JobAttr.REVIEW_STATE,
    )
    created = {
        k: v
        for k, v in job.items()
        if k not in (*results, *final_only, JobAttr.BRANCHES, JobAttr.DISPATCH_LEASE)
    }
    created[JobAttr.STATUS] = "pending"
    claimed = {**created, JobAttr.STATUS: "analyzing", JobAttr.DISPATCH_LEASE: 1764000000}
    if job.get(JobAttr.BRANCHES):
        claimed[JobAttr.BRANCHES] = job[JobAttr.BRANCHES]
    table = wru(None, created) + wru(created, claimed)
    before = claimed
    for attribute in results:
        after = {**before, attribute: job[attribute]}
        table += wru(before, after)
        before = after
    final = {k: v for k, v in job.items() if k != JobAttr.DISPATCH_LEASE}
    table += wru(before, final)
    # The status index projects user_id, decision and completed_at: creation puts an
    # entry; each status change (claim, finalize) deletes one and puts one; the result
    # writes change nothing it holds.
    index = 1 + 2 + 2
    return table, index


def reference_design_units(job: dict) -> tuple[int, float]:
    """(WRU, RRU) of the reference design's writes and strongly consistent reads for the same job."""
    base = {k: job[k] for k in (JobAttr.JOB_ID, JobAttr.USER_ID, JobAttr.CREATED_AT)}
    created = {**base, JobAttr.STATUS: "pending"}
    analyzing = {**created, JobAttr.STATUS: "analyzing"}
    rek = {
        **analyzing,
        JobAttr.REKOGNITION_RESULT: json.dumps(job[JobAttr.REKOGNITION_RESULT]["labels"]),
        "rekognition_at": job[JobAttr.UPDATED_AT],
    }
    both = {
        **rek,
        JobAttr.CUSTOM_RESULT: json.dumps(job[JobAttr.CUSTOM_RESULT].get(JobAttr.CATEGORIES, [])),
        "custom_at": job[JobAttr.UPDATED_AT],
    }
    claimed = {**both, JobAttr.STATUS: "finalizing", "finalized_at": job[JobAttr.COMPLETED_AT]}
    final = {
        **claimed,
        JobAttr.STATUS: "complete",
        JobAttr.DECISION: json.dumps(job.get(JobAttr.DECISION)),
        JobAttr.COMPLETED_AT: job[JobAttr.COMPLETED_AT],
    }
    writes = (
        wru(None, created)
        + wru(created, analyzing)
        + wru(analyzing, rek)
        + wru(rek, both)
        + wru(both, claimed)
        + wru(claimed, final)
    )
    reads = 2 * max(1, math.ceil(item_size(both) / 4096))  # two consistent GetItems
    return writes, float(reads)


def verdict_write_units(job: dict) -> int:
    """WRU of the verdict a finalizer stores for `job` (common/verdicts.py's item)."""
    item = {
        JobAttr.VERDICT_KEY: f"{job.get(JobAttr.CONTENT_SHA256) or '0' * 64}#{'0' * 64}",
        JobAttr.DECISION: job.get(JobAttr.DECISION),
        JobAttr.REASONS: list(job.get(JobAttr.REASONS) or []),
        JobAttr.CATEGORIES: list(job.get(JobAttr.CATEGORIES) or []),
        "source_job_id": job[JobAttr.JOB_ID],
        "decided_by": "rules",
        "rekognition_model_version": "x" * 8,
        "decided_at": job.get(JobAttr.COMPLETED_AT, ""),
        JobAttr.EXPIRES_AT: 1764000000,
    }
    return wru(None, item)


# --- the run ----------------------------------------------------------------------------------


def run_waves(cloud: Any, work: CostWorkload, rate: float) -> tuple[LoadSummary, dict]:
    """Send each wave once the one before it has completed; one summary and one set of
    details for the whole sequence (positions are the workload's)."""
    merged = LoadSummary()
    details: dict[str, Any] = {"job_ids": [], "notifications": {}, "positions": {}}
    latencies: list[float] = []
    for start, uploads in work.waves():
        summary, part = run_load(
            cloud, len(uploads), rate=rate, progress=False, timeout=600, items=uploads
        )
        for name in ("requested", "accepted", "poison_sent", "completed", "failed"):
            setattr(merged, name, getattr(merged, name) + getattr(summary, name))
        for name in ("unfinished", "duplicate_notifications", "unexpected_decisions"):
            setattr(merged, name, getattr(merged, name) + getattr(summary, name))
        for name in ("refused", "decisions", "failure_reasons"):
            total = getattr(merged, name)
            for key, n in getattr(summary, name).items():
                total[key] = total.get(key, 0) + n
        merged.submit_seconds += summary.submit_seconds
        merged.wall_seconds += summary.wall_seconds
        latencies += part.get("latencies_ms", [])
        details["job_ids"] += part["job_ids"]
        details["notifications"].update(part["notifications"])
        details["positions"].update({j: start + p for j, p in part["positions"].items()})
    merged.latency_ms = percentiles(latencies)
    finished = merged.completed + merged.failed
    merged.throughput_jobs_per_s = round(finished / max(merged.wall_seconds, 1e-9), 2)
    return merged, details


def measure(
    jobs: int,
    rate: float,
    work: CostWorkload | None = None,
    warmup: CostWorkload | None = None,
    settings: dict[str, Any] | None = None,
) -> dict:
    """One fresh local cloud: warm its environments, then send the workload and read back
    every function's counters and every job's record.

    Without `work`, the fixtures' mix (the measurement this benchmark made before the
    cost modes).
    """
    config = {**FAST, **(settings or {})}
    if work is not None:
        config["blocklistHashes"] = list(work.blocklist)
    with fresh_cloud(config) as cloud:
        if warmup is not None:
            run_load(
                cloud,
                len(warmup.items),
                rate=10,
                progress=False,
                timeout=180,
                items=warmup.uploads(),
            )
        else:
            run_load(cloud, WARMUP_JOBS, rate=10, progress=False, timeout=120, seed=1)
        time.sleep(1.0)  # the last warm-up invocations end before the counters are reset
        cloud.control("reset-stats")
        if work is not None:
            summary, details = run_waves(cloud, work, rate)
        else:
            summary, details = run_load(cloud, jobs, rate=rate, progress=False, timeout=600, seed=5)
        time.sleep(1.0)  # verdict writes after a job's notification are counted too
        status = cloud.control("status")
        from common import jobs as job_store

        ddb, table = cloud.client("dynamodb"), cloud.outputs[Output.JOBS_TABLE]
        ids = details["job_ids"] if work is not None else details["job_ids"][:100]
        records = [job_store.get_job(ddb, table, j, True) for j in ids]
    done = [j for j in records if j and j.get(JobAttr.STATUS) == Status.COMPLETE]
    return {
        "summary": summary.as_dict(),
        "functions": status["functions"],
        "jobs": done,
        "records": [r for r in records if r],
        "accepted": summary.accepted,
        "positions": details.get("positions", {}),
        "notifications": {
            job_id: notes[0][1] for job_id, notes in details["notifications"].items() if notes
        },
    }


def per_job_calls(functions: dict, jobs: int) -> dict[str, float]:
    calls: dict[str, float] = {}
    for fn in functions.values():
        for key, n in fn["api_calls"].items():
            calls[key] = calls.get(key, 0) + n / jobs
    return {k: round(v, 3) for k, v in sorted(calls.items())}


def api_calls(functions: dict, names: tuple[str, ...], call: str) -> int:
    """How many `call`s (`service:Operation`) the named functions made."""
    return sum(int(functions.get(n, {}).get("api_calls", {}).get(call, 0)) for n in names)


def shares(m: dict) -> dict[str, Any]:
    """What the run's job records show: reused jobs, and analyzed jobs whose Rekognition
    branch custom-first skipped."""
    records = m.get("records") or m["jobs"]
    jobs = max(m["accepted"], 1)
    reused = sum(1 for r in records if r.get(JobAttr.REUSED_FROM))
    analyzed_records = [r for r in records if not r.get(JobAttr.REUSED_FROM)]
    skipped = sum(
        1 for r in analyzed_records if (r.get(JobAttr.REKOGNITION_RESULT) or {}).get("skipped")
    )
    near = sum(1 for r in analyzed_records if near_reused(r))
    filed = sum(1 for r in analyzed_records if filed_for_near(r))
    analyzed = max(jobs - reused, 0)
    return {
        "jobs": m["accepted"],
        "reused": reused,
        "rekognition_skipped": skipped,
        "near_duplicate_reused": near,
        "filed_for_near_duplicates": filed,
        "reuse_share": reused / jobs,
        # Analyzed jobs that made no Rekognition call: custom-first's skip, or labels
        # reused from a near-duplicate.
        "rekognition_skip_share": (skipped + near) / analyzed if analyzed else 0.0,
        "near_duplicate_share": near / jobs,
    }


def near_reused(record: dict) -> bool:
    """Whether the job's Rekognition result came from a near-duplicate."""
    return bool((record.get(JobAttr.REKOGNITION_RESULT) or {}).get("near_duplicate_of"))


def filed_for_near(record: dict) -> bool:
    """Whether finalizing the job filed it in the near-duplicate index (common/analysis.py:
    its own Rekognition labels, a still image of usable PDQ quality)."""
    rekognition = record.get(JobAttr.REKOGNITION_RESULT) or {}
    custom = record.get(JobAttr.CUSTOM_RESULT) or {}
    return (
        bool(rekognition.get("model_version"))
        and not rekognition.get("skipped")
        and not near_reused(record)
        and int(custom.get("pdq_quality") or 0) >= 50
        and not custom.get("frames")
    )


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def design_workload(
    m: dict, verdict_reuse: bool, near_duplicate: bool = False
) -> tuple[Workload, dict]:
    """This design as one run measured it, per 1M jobs.

    The cost model holds the analyzers' figures per job that ran them and applies the
    shares of reused and Rekognition-skipped jobs itself, so the run's counters are
    divided by the jobs that ran each function: priced at the run's own shares, the
    model gives back the run's invocations and Rekognition calls.
    """
    jobs = m["accepted"]
    fns = m["functions"]
    calls = per_job_calls(fns, jobs)
    share = shares(m)
    if not near_duplicate:
        share["filed_for_near_duplicates"] = 0  # nothing is filed with the setting off
    base = Workload(
        jobs_per_month=MILLION,
        architecture="arm64",
        verdict_reuse=verdict_reuse,
        reuse_share=share["reuse_share"] if verdict_reuse else 0.0,
        rekognition_skip_share=share["rekognition_skip_share"],
    )
    analyzed_jobs = jobs * (1 - base.effective_reuse_share)
    rekognition_jobs = jobs * base.analyzed_share(Function.REKOGNITION_ANALYZER)

    def load(name: str) -> FunctionLoad:
        f = fns[name]
        ran = jobs * base.analyzed_share(name)
        billed = f["billed_ms"] / max(f["invocations"], 1)
        per_job = f["invocations"] / ran if ran else 0.0
        return FunctionLoad(name, per_job, billed, f["memory_mb"], measured=True)

    functions = [
        load(n)
        for n in (
            "upload",
            "dispatcher",
            "rekognition_analyzer",
            "custom_analyzer",
            "text_analyzer",
            "notifier",
        )
        if n in fns
    ]
    functions.append(FunctionLoad("status", 1.0, load("upload").duration_ms / 4, 256))
    functions.append(FunctionLoad("sweeper", 0.0, 150, 256, fixed_per_month=30 * 24 * 60))

    analyzed = [j for j in m["jobs"] if not j.get(JobAttr.REUSED_FROM)]
    reused = [j for j in m["jobs"] if j.get(JobAttr.REUSED_FROM)]
    units = [this_design_write_units(j) for j in analyzed]
    reused_units = [reused_write_units(j) for j in reused]
    detect = api_calls(fns, tuple(fns), "rekognition:DetectModerationLabels")
    get_object = api_calls(fns, tuple(fns), "s3:GetObject")
    # The verdict lookups are the dispatcher's BatchGetItems (two items, eventually
    # consistent: 0.5 RRU each); the verdict writes the analyzers' PutItems (a conditional
    # put that loses still consumes its units), each of the verdict item's size.
    lookups = api_calls(fns, (Function.DISPATCHER,), "dynamodb:BatchGetItem")
    puts = api_calls(fns, ANALYZERS, "dynamodb:PutItem")
    # Near-duplicate reuse: the analyzers' BatchGetItems are its lookups, and each image
    # filed puts its result item (counted above with the verdicts: removed here, priced
    # with the slices).
    near_lookups = api_calls(fns, ANALYZERS, "dynamodb:BatchGetItem") if near_duplicate else 0
    if near_duplicate:
        puts = max(puts - share["filed_for_near_duplicates"], 0)
    verdict_wru = _mean([verdict_write_units(j) for j in analyzed], 1.0)
    workload = replace(
        base,
        functions=tuple(functions),
        status_polls_per_job=1.0,
        ddb_wru_per_job=_mean([u[0] for u in units], 5.0),
        ddb_gsi_wru_per_job=_mean([u[1] for u in units], 5.0),
        reused_ddb_wru_per_job=_mean([u[0] for u in reused_units], 2.0),
        reused_ddb_gsi_wru_per_job=_mean([u[1] for u in reused_units], 3.0),
        verdict_lookup_rru_per_job=(
            (lookups * LOOKUP_RRU + near_lookups * NEAR_LOOKUP_RRU) / jobs if verdict_reuse else 0.0
        ),
        verdict_wru_per_analyzed_job=(
            (puts * verdict_wru + share["filed_for_near_duplicates"] * NEAR_FILE_WRU)
            / analyzed_jobs
            if verdict_reuse and analyzed_jobs
            else 0.0
        ),
        s3_puts_per_job=calls.get("s3:PutObject", 1.0),
        s3_gets_per_job=(get_object / analyzed_jobs if analyzed_jobs else 0.0)
        + (detect / rekognition_jobs if rekognition_jobs else 0.0),
        sns_publishes_per_job=calls.get("sns:Publish", 1.0),
        rekognition_images_per_job=detect / rekognition_jobs if rekognition_jobs else 0.0,
    )
    extra = {
        "calls_per_job": calls,
        "dynamodb_calls_per_job": round(
            sum(v for k, v in calls.items() if k.startswith("dynamodb:")), 2
        ),
        "rekognition_calls_per_job": round(detect / jobs, 3) if jobs else 0.0,
        "table_wru_per_analyzed_job": round(workload.ddb_wru_per_job, 2),
        "index_wru_per_analyzed_job": round(workload.ddb_gsi_wru_per_job, 2),
        "table_wru_per_reused_job": round(workload.reused_ddb_wru_per_job, 2)
        if reused_units
        else None,
        "verdict_lookups_per_job": round(lookups / jobs, 3) if jobs else 0.0,
        "verdict_puts_per_analyzed_job": round(puts / analyzed_jobs, 3) if analyzed_jobs else 0.0,
        "near_duplicate_lookups_per_job": round(near_lookups / jobs, 3) if jobs else 0.0,
        **share,
    }
    return workload, extra


def workloads(m: dict) -> tuple[Workload, Workload, dict]:
    """This design (the run as measured, verdict reuse off) and the reference design."""
    ours, measured_extra = design_workload(m, verdict_reuse=False)
    calls = measured_extra["calls_per_job"]
    reference_units = [reference_design_units(j) for j in m["jobs"]]
    reference_wru = sum(u[0] for u in reference_units) / len(reference_units)
    reference_rru = sum(u[1] for u in reference_units) / len(reference_units)

    def load(name: str) -> FunctionLoad:
        found = ours.function(name)
        assert found is not None, name
        return found

    custom = load("custom_analyzer")
    cpu_share = min(custom.memory_mb, 1769) / SEED_MEMORY_MB
    reference_functions = (
        replace(load("upload"), memory_mb=SEED_MEMORY_MB),
        replace(load("dispatcher"), memory_mb=SEED_MEMORY_MB),
        replace(load("rekognition_analyzer"), memory_mb=SEED_MEMORY_MB),
        replace(custom, memory_mb=SEED_MEMORY_MB, duration_ms=custom.duration_ms * cpu_share),
        FunctionLoad("status", 1.0, load("upload").duration_ms / 4, SEED_MEMORY_MB),
    )
    reference = replace(
        ours,
        architecture="x86_64",
        functions=reference_functions,
        ddb_wru_per_job=reference_wru,
        ddb_gsi_wru_per_job=0.0,
        verdict_reuse=False,
        reuse_share=0.0,
        rekognition_skip_share=0.0,
        # Rekognition's own read of each object, and the custom analyzer's.
        s3_gets_per_job=calls.get("s3:GetObject", 0)
        + calls.get("rekognition:DetectModerationLabels", 0),
        rekognition_images_per_job=calls.get("rekognition:DetectModerationLabels", 1.0),
        alarms=0,
        kms_keys=0,
        custom_metrics=0,
        xray_traces_per_job=0.0,
        pitr=False,
        sns_fifo=False,  # a standard topic
        sqs_fixed_requests=5 * 3 * 60 * 24 * 30,  # the dispatcher's idle long polls only
        notes=("the reference design as written",),
    )
    extra = {
        "this_design_calls_per_job": calls,
        "this_design_dynamodb_calls_per_job": measured_extra["dynamodb_calls_per_job"],
        "reference_design_dynamodb_calls_per_job": 8,
        "table_wru_per_job": round(ours.ddb_wru_per_job, 2),
        "index_wru_per_job": round(ours.ddb_gsi_wru_per_job, 2),
        "reference_wru_per_job": round(reference_wru, 2),
        "reference_strong_rru_per_job": round(reference_rru, 2),
    }
    return ours, reference, extra


STORAGE_LINES = (
    "storage (originals until expiry)",
    "storage (jobs kept for their TTL)",
    "storage (verdicts kept for their TTL)",
    "point-in-time recovery",
)


def month_n_storage(
    workload: Workload, months: int, image_days: float | None, job_days: float | None
) -> dict[str, float]:
    """S3 and DynamoDB storage in month `months` of steady traffic.

    A design that expires nothing (`None`) keeps every image and job it ever stored;
    this one expires originals after uploadExpiryDays and job records after their TTL.
    """
    from dashboard.data.cost import PRICES

    def kept(days: float | None) -> float:
        return months if days is None else min(months, days / 30)

    images_gb = workload.jobs_per_month * kept(image_days) * workload.image_mb / 1024
    items_gb = workload.jobs_per_month * kept(job_days) * workload.ddb_item_kb / 1024 / 1024
    ddb = items_gb * PRICES.ddb_storage_gb_month + (
        items_gb * PRICES.ddb_pitr_gb_month if workload.pitr else 0.0
    )
    return {
        "S3": images_gb * PRICES.s3_storage_gb_month,
        "DynamoDB": ddb,
        "images_gb": round(images_gb),
        "items_gb": round(items_gb, 1),
    }


def priced(workload: Workload, extra_read_units: float = 0.0) -> dict:
    est = estimate(workload)
    by_service = est.by_service()
    if extra_read_units:
        from dashboard.data.cost import PRICES

        by_service["DynamoDB"] += extra_read_units * MILLION * PRICES.ddb_read_unit
    total = sum(by_service.values())
    pipeline = total - by_service.get("Rekognition", 0.0)
    storage = sum(line.monthly for line in est.lines if line.item in STORAGE_LINES)
    return {
        "total_usd": round(total, 2),
        "pipeline_usd": round(pipeline, 2),
        "pipeline_without_storage_usd": round(pipeline - storage, 2),
        "by_service_usd": {
            k: round(v, 2) for k, v in sorted(by_service.items(), key=lambda kv: -kv[1])
        },
        "lambda": [
            {
                "function": f.name,
                "invocations_per_job": round(f.invocations_per_job, 3),
                "billed_ms": round(f.duration_ms, 1),
                "memory_mb": f.memory_mb,
            }
            for f in workload.functions
        ],
        "prices_as_of": est.prices.as_of,
        "dynamodb_lines_usd": {
            line.item: round(line.monthly, 2) for line in est.lines if line.service == "DynamoDB"
        },
    }


# --- the modes ---------------------------------------------------------------------------------


def decisions(m: dict, jobs: int) -> list[str]:
    """Each workload position's outcome as its (first) notification carries it: the
    decision of a complete job, else `failed`, `unfinished` or `refused`."""
    by_position = {int(pos): job_id for job_id, pos in m["positions"].items()}
    out = []
    for position in range(jobs):
        job_id = by_position.get(position)
        body = m["notifications"].get(job_id) if job_id is not None else None
        if job_id is None:
            out.append("refused")
        elif body is None:
            out.append("unfinished")
        elif body.get(JobAttr.STATUS) == Status.COMPLETE:
            out.append(str(body.get(JobAttr.DECISION)))
        else:
            out.append(str(body.get(JobAttr.STATUS)))
    return out


def compare_decisions(per_mode: dict[str, list[str]], work: CostWorkload) -> dict[str, Any]:
    """Whether every position got the same decision in every mode (and got one at all)."""
    names = list(per_mode)
    base = per_mode[BASE_MODE]
    undecided = {"refused", "unfinished", "failed"}
    mismatches = []
    for position, item in enumerate(work.items):
        seen = {name: per_mode[name][position] for name in names}
        if len(set(seen.values())) > 1 or set(seen.values()) & undecided:
            mismatches.append(
                {"position": position, "kind": item.kind, "fixture": item.fixture, **seen}
            )
    return {
        "decisions_identical": not mismatches and len(base) == len(work.items),
        "positions_compared": len(work.items),
        "positions_differing_or_undecided": len(mismatches),
        "mismatches": mismatches[:20],
        "decisions_by_mode": {
            name: dict(sorted(Counter(values).items())) for name, values in per_mode.items()
        },
    }


def mode_report(name: str, m: dict, reference_total: float) -> dict[str, Any]:
    reuse = MODES[name].get("verdictReuse", {})
    verdict_reuse = bool(reuse.get("enabled", True))
    workload, extra = design_workload(m, verdict_reuse, bool(reuse.get("nearDuplicate")))
    cost = priced(workload)
    summary = m["summary"]
    return {
        "settings": MODES[name],
        "total_usd_per_1m_jobs": cost["total_usd"],
        "by_service_usd": cost["by_service_usd"],
        "ratio_to_reference": round(cost["total_usd"] / reference_total, 3)
        if reference_total
        else None,
        "rekognition_calls_per_job": extra["rekognition_calls_per_job"],
        "dynamodb_calls_per_job": extra["dynamodb_calls_per_job"],
        "p95_ms": summary["latency_ms"].get("p95"),
        "latency_ms": summary["latency_ms"],
        "jobs_measured": m["accepted"],
        "completed": summary["completed"],
        "failed": summary["failed"],
        "unfinished": summary["unfinished"],
        "reuse_share": round(extra["reuse_share"], 3),
        "rekognition_skip_share": round(extra["rekognition_skip_share"], 3),
        "near_duplicate_share": round(extra["near_duplicate_share"], 3),
        "measured": {
            k: v
            for k, v in extra.items()
            if k
            not in (
                "reuse_share",
                "rekognition_skip_share",
                "near_duplicate_share",
                "calls_per_job",
            )
        },
        "calls_per_job": extra["calls_per_job"],
        "lambda": cost["lambda"],
        "dynamodb_lines_usd": cost["dynamodb_lines_usd"],
    }


def report(
    measurements: dict[str, dict], work: CostWorkload | None = None, machine: dict | None = None
) -> dict[str, Any]:
    """The benchmark's JSON from the runs (`measurements`: mode name -> `measure`'s dict)."""
    m = measurements[BASE_MODE]
    ours, reference, extra = workloads(m)
    this = priced(ours)
    this["dynamodb_calls_per_job"] = extra["this_design_dynamodb_calls_per_job"]
    reference_priced = priced(reference, extra_read_units=extra["reference_strong_rru_per_job"])
    reference_priced["dynamodb_calls_per_job"] = extra["reference_design_dynamodb_calls_per_job"]
    # Like for like: this design without what the reference design has no counterpart for
    # (the status index the sweeper queries, the sweeper, alarms, custom metrics, the
    # alarm topic's key, tracing, point-in-time recovery), so both pay for the same
    # functionality.
    core = replace(
        ours,
        functions=tuple(f for f in ours.functions if f.name != "sweeper"),
        ddb_gsi_wru_per_job=0.0,
        alarms=0,
        custom_metrics=0,
        kms_keys=0,
        pitr=False,
        xray_traces_per_job=0.0,
        sqs_fixed_requests=reference.sqs_fixed_requests,
    )
    like_for_like = priced(core)
    # Month 12: the reference design expires nothing; this one deletes originals after
    # uploadExpiryDays (30) and job records after jobRetentionDays (90).
    ours_storage = month_n_storage(ours, 12, image_days=30, job_days=90)
    reference_storage = month_n_storage(reference, 12, image_days=None, job_days=None)
    month12 = {
        "this_design_pipeline_usd": round(
            this["pipeline_without_storage_usd"] + ours_storage["S3"] + ours_storage["DynamoDB"], 2
        ),
        "reference_design_pipeline_usd": round(
            reference_priced["pipeline_without_storage_usd"]
            + reference_storage["S3"]
            + reference_storage["DynamoDB"],
            2,
        ),
        "this_design_storage": ours_storage,
        "reference_design_storage": reference_storage,
    }
    month12["saving_percent"] = round(
        100 * (1 - month12["this_design_pipeline_usd"] / month12["reference_design_pipeline_usd"]),
        1,
    )
    doc: dict[str, Any] = {
        "benchmark": "cost",
        "machine": machine or describe(),
        "this_design_mode": BASE_MODE,
        "jobs_measured": m["accepted"],
        "jobs_per_month_priced": MILLION,
        "this_design": this,
        "reference_design": reference_priced,
        "pipeline_saving_percent": round(
            100 * (1 - this["pipeline_usd"] / reference_priced["pipeline_usd"]), 1
        ),
        "this_design_like_for_like": like_for_like,
        "like_for_like_saving_percent": round(
            100 * (1 - like_for_like["pipeline_usd"] / reference_priced["pipeline_usd"]), 1
        ),
        "what_the_difference_buys": {
            k: round(
                this["by_service_usd"].get(k, 0) - like_for_like["by_service_usd"].get(k, 0), 2
            )
            for k in this["by_service_usd"]
            if abs(this["by_service_usd"].get(k, 0) - like_for_like["by_service_usd"].get(k, 0))
            >= 0.01
        },
        "total_saving_percent": round(
            100 * (1 - this["total_usd"] / reference_priced["total_usd"]), 1
        ),
        "month_12": month12,
        "targets": {
            "pipeline_cost_20_percent_below_reference_month_1": this["pipeline_usd"]
            <= 0.8 * reference_priced["pipeline_usd"],
            "pipeline_cost_20_percent_below_reference_month_12": month12["saving_percent"] >= 20,
            "dynamodb_calls_per_job_at_most_5": extra["this_design_dynamodb_calls_per_job"] <= 5,
        },
        "measured": extra,
    }
    if work is not None:
        modes = {
            name: mode_report(name, run, reference_priced["total_usd"])
            for name, run in measurements.items()
        }
        doc["workload"] = work.describe()
        doc["modes"] = modes
        doc.update(
            compare_decisions(
                {name: decisions(run, len(work.items)) for name, run in measurements.items()}, work
            )
        )
        best = modes.get("reuse_on_custom_first")
        ratio = best["ratio_to_reference"] if best else None
        doc["goal"] = {
            "what": "total per 1M jobs, reuse on + custom-first, over the reference design's",
            "limit": GOAL_RATIO,
            "ratio": ratio,
            "met": ratio is not None and ratio <= GOAL_RATIO,
        }
        doc["targets"]["reuse_and_custom_first_at_most_75_percent_of_reference"] = doc["goal"][
            "met"
        ]
        near = modes.get(NEAR_MODE)
        if near is not None:
            near_ratio = near["ratio_to_reference"]
            doc["near_duplicate_goal"] = {
                "what": "total per 1M jobs with near-duplicate reuse over the reference "
                "design's, decisions identical to full analysis",
                "limit": NEAR_GOAL_RATIO,
                "ratio": near_ratio,
                "decisions_identical": doc["decisions_identical"],
                "met": near_ratio is not None
                and near_ratio <= NEAR_GOAL_RATIO
                and doc["decisions_identical"],
            }
            doc["targets"]["near_duplicate_at_most_55_percent_of_reference"] = doc[
                "near_duplicate_goal"
            ]["met"]
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000, help="uploads per mode")
    # A rate this machine keeps up with: a repeat can only reuse a verdict its original has
    # stored, and a backlog holds the originals back (every repeat is analyzed again).
    parser.add_argument("--rate", type=float, default=2.0, help="uploads per second")
    parser.add_argument("--repeat-share", type=float, default=0.25)
    parser.add_argument("--reencode-share", type=float, default=0.15)
    parser.add_argument("--decisive-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"comma-separated, from {', '.join(MODES)} ({BASE_MODE} is always run)",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_JOBS} jobs per mode")
    args = parser.parse_args(argv)
    names = [BASE_MODE, *(n for n in args.modes.split(",") if n and n != BASE_MODE)]
    unknown = [n for n in names if n not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    jobs = QUICK_JOBS if args.quick else args.jobs
    work = build_workload(
        jobs,
        args.repeat_share,
        args.decisive_share,
        seed=args.seed,
        reencode_share=args.reencode_share,
    )
    warmup = build_workload(
        WARMUP_JOBS, 0.0, 0.0, seed=args.seed + 1, avoid=frozenset(i.sha256 for i in work.items)
    )
    measurements = {name: measure(jobs, args.rate, work, warmup, MODES[name]) for name in names}
    doc = report(measurements, work, describe())
    doc["workload"]["rate_per_s"] = args.rate
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
