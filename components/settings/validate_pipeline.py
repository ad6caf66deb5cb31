"""Validation of the pipeline's settings: the analyzers and their order, the rules, uploads
(limits, presigned URLs, per-user quotas), animations, the job's lifecycle and cost.

Moved from `validate.py` (one function per concern, each naming the setting and the fix);
`validate.VALIDATORS` runs them in order.
"""

from __future__ import annotations

from components.settings.fields import NAMESPACE
from components.settings.fields import set_cmd as _set_cmd
from components.settings.model import (
    MAX_INLINE_UPLOAD_BYTES,
    MAX_REKOGNITION_OBJECT_BYTES,
    MIB,
    StackSettings,
)
from components.settings.problems import Problems
from lambdas.common import near_index
from lambdas.common.contract import BRANCH_FUNCTIONS, AnalysisOrder, AnimationPolicy
from lambdas.common.images import DEFAULT_MAX_FRAMES, MAX_FRAMES_RANGE


def analyzers(s: StackSettings, p: Problems) -> None:
    """Asynchronous invocation of the analyzers."""
    p.need(
        0 <= s.async_retries <= 2,
        f"{NAMESPACE}:asyncRetries = {s.async_retries} is outside Lambda's 0-2. "
        f"Set it with {_set_cmd('asyncRetries', 2)}.",
    )
    p.need(
        60 <= s.async_max_event_age_seconds <= 21600,
        f"{NAMESPACE}:asyncMaxEventAgeSeconds = {s.async_max_event_age_seconds} is outside "
        f"Lambda's 60-21600. Set it with {_set_cmd('asyncMaxEventAgeSeconds', 3600)}.",
    )


def cost(s: StackSettings, p: Problems) -> None:
    """Verdict reuse and the analysis order (docs/cost.md#calling-rekognition-less)."""
    orders = [str(o) for o in AnalysisOrder]
    p.need(
        s.analysis_order in orders,
        f"{NAMESPACE}:analysisOrder = {s.analysis_order!r} is not one of {', '.join(orders)}. "
        f"Set it with {_set_cmd('analysisOrder', AnalysisOrder.PARALLEL)}.",
    )
    ttl = s.verdict_reuse.ttl_days
    p.need(
        1 <= ttl <= 365,
        f"{NAMESPACE}:verdictReuse.ttlDays = {ttl} is outside 1-365: a verdict must expire "
        "(a model's blind spot found later should not live on in reused verdicts). "
        f"Set it with {_set_cmd('verdictReuse.ttlDays', 30)}.",
    )
    reuse = s.verdict_reuse
    if reuse.near_duplicate:
        p.need(
            reuse.enabled,
            f"{NAMESPACE}:verdictReuse.nearDuplicate needs verdict reuse: set "
            f"{_set_cmd('verdictReuse.enabled', True)} or turn nearDuplicate off.",
        )
        p.need(
            s.analysis_order == AnalysisOrder.CUSTOM_FIRST,
            f"{NAMESPACE}:verdictReuse.nearDuplicate needs the custom analyzer to hash the "
            "image before Rekognition is called: set "
            f"{_set_cmd('analysisOrder', AnalysisOrder.CUSTOM_FIRST)} or turn it off.",
        )
    limit = near_index.MAX_DISTANCE
    p.need(
        0 <= reuse.near_duplicate_distance <= limit,
        f"{NAMESPACE}:verdictReuse.nearDuplicateDistance = {reuse.near_duplicate_distance} "
        f"is outside 0-{limit}: the index finds every image within {limit} bits (16 slices "
        "of 16 bits: a nearer image shares one), and farther copies are not re-encodings. "
        f"Set it with {_set_cmd('verdictReuse.nearDuplicateDistance', 8)}.",
    )


def animation(s: StackSettings, p: Problems) -> None:
    """Animated uploads: how many frames each branch analyses, and the policy."""
    low, high = MAX_FRAMES_RANGE
    frames = s.animation.max_frames
    p.need(
        low <= frames <= high,
        f"{NAMESPACE}:animation.maxFrames = {frames} is outside {low}-{high}: the first and "
        f"the last frame need two, and each frame is a billed Rekognition call and one more "
        f"run of every model in one invocation. Set it with "
        f"{_set_cmd('animation.maxFrames', DEFAULT_MAX_FRAMES)}.",
    )
    policies = [str(x) for x in AnimationPolicy]
    p.need(
        s.animation.policy in policies,
        f"{NAMESPACE}:animation.policy = {s.animation.policy!r} is not one of "
        f"{', '.join(policies)}. Set it with "
        f"{_set_cmd('animation.policy', AnimationPolicy.ANALYZE)}.",
    )


def rules(s: StackSettings, p: Problems) -> None:
    """Decision thresholds, categories and the custom analyzer's checks."""
    p.need(
        0 <= s.rekognition_min_confidence <= 100 and 0 <= s.reject_threshold <= 100,
        f"{NAMESPACE}:rekognitionMinConfidence and {NAMESPACE}:rejectThreshold are "
        "percentages (0-100).",
    )
    p.need(
        s.rekognition_min_confidence <= s.reject_threshold,
        f"{NAMESPACE}:rekognitionMinConfidence = {s.rekognition_min_confidence} is above "
        f"{NAMESPACE}:rejectThreshold = {s.reject_threshold}: no label could ever be reviewed. "
        f"Lower it with {_set_cmd('rekognitionMinConfidence', 50)}.",
    )
    for h in s.blocklist_hashes:
        try:
            ok = len(h) == 16 and int(h, 16) >= 0
        except ValueError:
            ok = False
        p.need(
            ok,
            f"{NAMESPACE}:blocklistHashes entry {h!r} is not a 64-bit dHash in 16 hex digits. "
            "Compute one with `python -m local hash IMAGE`.",
        )
    p.need(
        0 <= s.blocklist_max_distance <= 32,
        f"{NAMESPACE}:blocklistMaxDistance = {s.blocklist_max_distance} is outside 0-32 bits. "
        f"Set it with {_set_cmd('blocklistMaxDistance', 10)}.",
    )
    p.need(
        s.min_image_side >= 1 and s.max_aspect_ratio >= 1,
        f"{NAMESPACE}:minImageSide must be >= 1 and {NAMESPACE}:maxAspectRatio >= 1.",
    )


def uploads(s: StackSettings, p: Problems) -> None:
    """Upload size limits against the Lambda payload and Rekognition."""
    p.need(
        1024 <= s.max_inline_upload_bytes <= MAX_INLINE_UPLOAD_BYTES,
        f"{NAMESPACE}:maxInlineUploadBytes = {s.max_inline_upload_bytes} must be 1024-"
        f"{MAX_INLINE_UPLOAD_BYTES}: the API hands the body to Lambda base64-encoded within "
        f"its 6 MB payload. Larger files use the presigned path; set "
        f"{_set_cmd('maxInlineUploadBytes', 4 * MIB)}.",
    )
    p.need(
        s.max_inline_upload_bytes <= s.max_upload_bytes <= MAX_REKOGNITION_OBJECT_BYTES,
        f"{NAMESPACE}:maxUploadBytes = {s.max_upload_bytes} must be between "
        f"maxInlineUploadBytes and {MAX_REKOGNITION_OBJECT_BYTES} (Rekognition reads at most "
        f"15 MB from S3). Set {_set_cmd('maxUploadBytes', MAX_REKOGNITION_OBJECT_BYTES)}.",
    )
    p.need(
        60 <= s.presign_expiry_seconds <= 604800,
        f"{NAMESPACE}:presignExpirySeconds = {s.presign_expiry_seconds} is outside 60-604800. "
        f"Set it with {_set_cmd('presignExpirySeconds', 900)}.",
    )


def lifecycle(s: StackSettings, p: Problems) -> None:
    """The sweeper's deadline and schedule, retention."""
    slowest_branch = max(s.functions[fn].timeout for fn in BRANCH_FUNCTIONS.values())
    p.need(
        s.job_deadline_seconds >= 2 * slowest_branch,
        f"{NAMESPACE}:jobDeadlineSeconds = {s.job_deadline_seconds} is under twice the slowest "
        f"analyzer timeout ({slowest_branch} s): the sweeper would fail jobs whose analysis is "
        f"still running. Set {_set_cmd('jobDeadlineSeconds', max(900, 2 * slowest_branch))}.",
    )
    p.need(
        1 <= s.sweep_rate_minutes <= 1440,
        f"{NAMESPACE}:sweepRateMinutes = {s.sweep_rate_minutes} is outside 1-1440. "
        f"Set it with {_set_cmd('sweepRateMinutes', 1)}.",
    )
    p.need(
        s.job_retention_days >= 1 and s.upload_expiry_days >= 1,
        f"{NAMESPACE}:jobRetentionDays and {NAMESPACE}:uploadExpiryDays must be >= 1 day.",
    )


def presign_window(s: StackSettings, p: Problems) -> None:
    """A presigned upload's URL expires in time for its job to be analysed by the deadline.

    The deadline counts from the presign request (the job's `created_at`), and the URL
    accepts a PUT until it expires, so a client using it at its last moment leaves
    `jobDeadlineSeconds - presignExpirySeconds` for the analysis. That must be at least
    the room `lifecycle` requires of the deadline for any job, twice the slowest analyzer
    timeout: `presignExpirySeconds + 2 x slowest analyzer timeout <= jobDeadlineSeconds`.
    """
    room = 2 * max(s.functions[fn].timeout for fn in BRANCH_FUNCTIONS.values())
    if s.presign_expiry_seconds + room <= s.job_deadline_seconds:
        return
    shorter = s.job_deadline_seconds - room
    fix = _set_cmd("jobDeadlineSeconds", s.presign_expiry_seconds + room)
    if shorter >= 60:
        fix = f"{_set_cmd('presignExpirySeconds', shorter)} or {fix}"
    p.append(
        f"{NAMESPACE}:presignExpirySeconds = {s.presign_expiry_seconds} leaves too little of "
        f"{NAMESPACE}:jobDeadlineSeconds = {s.job_deadline_seconds} to analyse an upload whose "
        f"URL is used at its last moment: the deadline counts from the presign request and "
        f"analysis needs twice the slowest analyzer timeout ({room} s), so presignExpirySeconds "
        f"+ {room} must be <= jobDeadlineSeconds (the sweeper would fail the job as its bytes "
        f"arrive). Run {fix}."
    )


# The usage item remembers a short digest of each keyed upload of the day (17 bytes), so
# a day's quota is bounded well inside DynamoDB's 400 KB item.
MAX_UPLOADS_PER_DAY = 10_000


MAX_UPLOADS_PER_MINUTE = 1_000


def quota(s: StackSettings, p: Problems) -> None:
    """Per-user upload limits."""
    q = s.quota
    if not q.enabled:
        return
    p.need(
        1 <= q.uploads_per_minute <= MAX_UPLOADS_PER_MINUTE,
        f"{NAMESPACE}:quota.uploadsPerMinute = {q.uploads_per_minute} is outside "
        f"1-{MAX_UPLOADS_PER_MINUTE}. Set it with {_set_cmd('quota.uploadsPerMinute', 30)}, "
        f"or turn the limits off with {_set_cmd('quota.enabled', 'false')}.",
    )
    p.need(
        q.uploads_per_minute <= q.uploads_per_day <= MAX_UPLOADS_PER_DAY,
        f"{NAMESPACE}:quota.uploadsPerDay = {q.uploads_per_day} must be at least "
        f"quota.uploadsPerMinute ({q.uploads_per_minute}) and at most {MAX_UPLOADS_PER_DAY} "
        "(the usage item remembers each keyed upload of the day). "
        f"Set it with {_set_cmd('quota.uploadsPerDay', 1000)}.",
    )
