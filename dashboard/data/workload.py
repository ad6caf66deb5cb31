"""The workload the cost model prices: functions, caching, edge and analytics, and the
shares of jobs that run less (verdict reuse, custom-first) or more (animations).

Plain data, importable without Streamlit. `measured` replaces the model's per-function
defaults with a stack's measurements; `what_if` builds the Cost page's workload from
its controls and the stack's outputs. `cost.estimate` prices a workload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from lambdas.common.contract import BRANCH_FUNCTIONS, Branch, JobAttr, Output

# --- the workload --------------------------------------------------------------------------

# The functions a reused job does not run (one per analysis branch), and the one a
# custom-first job that is already a reject does not run either.
ANALYZER_FUNCTIONS = frozenset(str(f) for f in BRANCH_FUNCTIONS.values())
REKOGNITION_FUNCTION = str(BRANCH_FUNCTIONS[Branch.REKOGNITION])


@dataclass(frozen=True)
class FunctionLoad:
    """One function: invocations per job (batches count once), billed ms, memory."""

    name: str
    invocations_per_job: float
    duration_ms: float
    memory_mb: float
    fixed_per_month: float = 0.0  # schedule-driven invocations, independent of volume
    measured: bool = False
    provisioned_concurrency: int = 0  # environments kept initialised on an alias


# Defaults from the code (README "AWS calls per job") and the local cloud's durations;
# `Workload.measured` replaces them with figures from REPORT lines.
DEFAULT_FUNCTIONS = (
    FunctionLoad("upload", 1.0, 120, 512),
    FunctionLoad("dispatcher", 0.2, 80, 256),  # batches of ~5 messages
    FunctionLoad("rekognition_analyzer", 1.0, 250, 256),
    FunctionLoad("custom_analyzer", 1.0, 150, 1024),
    FunctionLoad("text_analyzer", 1.0, 400, 1769),
    FunctionLoad("notifier", 0.2, 60, 256),  # stream batches
    FunctionLoad("status", 1.0, 20, 256),  # one status poll per job
    FunctionLoad("sweeper", 0.0, 150, 256, fixed_per_month=30 * 24 * 60),  # every minute
)


@dataclass(frozen=True)
class CacheLoad:
    node_type: str = "serverless"
    engine: str = "valkey"
    data_gb: float = 0.1
    ecpu_per_job: float = 4.0  # a status read and a write of a ~1-2 KB job: 1 ECPU per KB


@dataclass(frozen=True)
class EdgeLoad:
    views_per_job: float = 1.0  # CloudFront requests for the stored image
    edge_ms: float = 5.0
    edge_memory_mb: float = 128


@dataclass(frozen=True)
class AnalyticsLoad:
    runs_per_month: float = 30  # the daily report
    vcpu_hours_per_run: float = 1.0
    gb_hours_per_run: float = 4.0
    architecture: str = "x86_64"
    export_batch: float = 100  # stream records per exporter invocation and S3 object
    exporter_ms: float = 300
    exporter_memory_mb: float = 256


@dataclass(frozen=True)
class Workload:
    jobs_per_month: float = 1_000_000
    architecture: str = "arm64"
    functions: tuple[FunctionLoad, ...] = DEFAULT_FUNCTIONS
    status_polls_per_job: float = 1.0
    # DynamoDB: 5 writes of a job item under 1 KB (1 WRU per KB of the larger of old and
    # new), plus the status GSI's copies: a put at creation and a delete and a put at each
    # of the two status changes (`python -m bench.cost` measures both on a local run).
    ddb_wru_per_job: float = 5.0
    ddb_gsi_wru_per_job: float = 5.0
    ddb_item_kb: float = 2.0
    job_retention_days: float = 90
    pitr: bool = True
    image_mb: float = 0.5
    upload_expiry_days: float = 30
    s3_puts_per_job: float = 1.0
    # Per analyzed job: the custom analyzer and Rekognition reading the object.
    s3_gets_per_job: float = 2.0
    sqs_batch: float = 5.0
    # Lambda's SQS pollers long-poll even when idle (~5 pollers x 3 receives a minute),
    # and the sweeper reads the failure queue every minute.
    sqs_fixed_requests: float = 5 * 3 * 60 * 24 * 30 + 60 * 24 * 30
    sns_publishes_per_job: float = 1.0
    sns_fifo: bool = True  # the notification topic (moderation:notificationFifo)
    sns_message_kb: float = 0.3
    sns_subscriptions: float = 1.0
    # Per job that calls Rekognition (neither reused nor skipped by custom-first).
    rekognition_images_per_job: float = 1.0
    # Calling Rekognition less (docs/cost.md#calling-rekognition-less). The analyzers'
    # invocations, their S3 reads and the jobs-table writes above are those of an analyzed
    # job; a reused job (a stored verdict for the same bytes, rules and model versions)
    # runs no analyzer and writes its job twice. With `verdict_reuse` every job pays the
    # lookup (one BatchGetItem of the verdict and the meta item, eventually consistent:
    # 0.5 RRU each, found or not) and every analyzed job stores its verdict.
    verdict_reuse: bool = True  # moderation:verdictReuse.enabled
    reuse_share: float = 0.0  # of all jobs: completed from a stored verdict (0..1)
    rekognition_skip_share: float = 0.0  # of analyzed jobs: custom-first rejected first (0..1)
    # Animated uploads (docs/cost.md#animations): `animated_share` of the analyzed jobs are
    # animations; each sends `frames_per_animated_job` frames to Rekognition (one billed
    # DetectModerationLabels call per frame) and runs the custom and text models once per
    # frame (their default durations scale with it; measured durations already hold it).
    animated_share: float = 0.0
    frames_per_animated_job: float = 8.0  # moderation:animation.maxFrames (fewer if shorter)
    verdict_lookup_rru_per_job: float = 1.0
    verdict_wru_per_analyzed_job: float = 1.0  # one PutItem of an item under 1 KB
    verdict_item_kb: float = 0.5  # what the verdicts table stores per analyzed job
    verdict_ttl_days: float = 30  # moderation:verdictReuse.ttlDays
    reused_ddb_wru_per_job: float = 2.0  # the job's creation and its one completing write
    reused_ddb_gsi_wru_per_job: float = 3.0  # a put at creation, a delete and a put at the end
    log_kb_per_job: float = 5.0
    log_retention_days: float = 30
    custom_metrics: float = 12
    alarms: float = 18
    kms_keys: float = 1
    xray_traces_per_job: float = 0.05  # default sampling: 1 request/s, then 5%
    caching: CacheLoad | None = None
    edge: EdgeLoad | None = None
    analytics: AnalyticsLoad | None = None
    notes: tuple[str, ...] = ()

    def function(self, name: str) -> FunctionLoad | None:
        return next((f for f in self.functions if f.name == name), None)

    @property
    def effective_reuse_share(self) -> float:
        """The share of jobs completed from a stored verdict (none without verdict reuse)."""
        _check_share("reuse_share", self.reuse_share)
        return self.reuse_share if self.verdict_reuse else 0.0

    @property
    def frames_per_job(self) -> float:
        """Frames an analyzed job sends through each branch, on average."""
        _check_share("animated_share", self.animated_share)
        if self.frames_per_animated_job < 1:
            raise ValueError(
                f"frames_per_animated_job = {self.frames_per_animated_job} must be at least 1"
            )
        return 1.0 + self.animated_share * (self.frames_per_animated_job - 1.0)

    def analyzed_share(self, function: str) -> float:
        """The share of jobs that run `function`: analyzers skip reused jobs, and the
        Rekognition analyzer also the jobs custom-first rejected without it."""
        if function not in ANALYZER_FUNCTIONS:
            return 1.0
        share = 1.0 - self.effective_reuse_share
        if function == REKOGNITION_FUNCTION:
            _check_share("rekognition_skip_share", self.rekognition_skip_share)
            share *= 1.0 - self.rekognition_skip_share
        return share

    def with_provisioned(self, name: str, concurrency: int) -> Workload:
        """What-if: provisioned concurrency on one function (0: off)."""
        return replace(
            self,
            functions=tuple(
                replace(f, provisioned_concurrency=concurrency) if f.name == name else f
                for f in self.functions
            ),
        )

    def with_memory(self, name: str, memory_mb: float, scale_duration: bool = False) -> Workload:
        """What-if: another memory size. With `scale_duration`, CPU-bound code is assumed
        to run proportionally faster or slower (Lambda's CPU share follows memory up to
        1,769 MB = one vCPU)."""
        out = []
        for f in self.functions:
            if f.name == name:
                duration = f.duration_ms
                if scale_duration:
                    old, new = min(f.memory_mb, 1769), min(memory_mb, 1769)
                    duration = f.duration_ms * old / new
                f = replace(f, memory_mb=memory_mb, duration_ms=duration)
            out.append(f)
        return replace(self, functions=tuple(out))


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} = {value} is a share of jobs: it must be within 0..1")


# --- measured figures ----------------------------------------------------------------------


def measured(
    base: Workload,
    functions: Any,
    jobs_in_window: float,
    reuse_share: float = 0.0,
    rekognition_skip_share: float = 0.0,
) -> Workload:
    """The workload with each function's invocations per job, billed ms and memory taken
    from measurements (a DataFrame like `functions.FunctionStats.summary`).

    `jobs_in_window` is the number of jobs accepted in the measured window; scheduled
    functions (the sweeper) keep their fixed monthly count. The analyzers' invocations
    are divided by the jobs that ran them: `reuse_share` and `rekognition_skip_share` are
    the window's measured shares (the workload keeps them), so a what-if share applied
    later does not count the measured one twice.
    """
    if functions is None or len(functions) == 0 or jobs_in_window <= 0:
        return base
    shares = replace(base, reuse_share=reuse_share, rekognition_skip_share=rekognition_skip_share)
    by_name = {row["function"]: row for _, row in functions.iterrows()}
    out = []
    for f in base.functions:
        row = by_name.get(f.name)
        if row is None or not row.get("reports") or row.get("avg_billed_ms") is None:
            out.append(f)
            continue
        ran = jobs_in_window * shares.analyzed_share(f.name)
        if ran <= 0:
            out.append(f)
            continue
        per_job = f.invocations_per_job if f.fixed_per_month else float(row["invocations"]) / ran
        out.append(
            replace(
                f,
                invocations_per_job=per_job,
                duration_ms=float(row["avg_billed_ms"]),
                memory_mb=float(row.get("memory_mb") or f.memory_mb),
                measured=True,
            )
        )
    status = by_name.get(JobAttr.STATUS)
    polls = (
        float(status["invocations"]) / jobs_in_window
        if status is not None
        else base.status_polls_per_job
    )
    return replace(
        shares,
        functions=tuple(out),
        status_polls_per_job=polls,
        notes=(*base.notes, f"Lambda figures measured over {jobs_in_window:.0f} jobs"),
    )


# --- the Cost page's what-if ---------------------------------------------------------------


def stack_workload(
    jobs_per_month: float,
    architecture: str,
    outputs: Mapping[str, Any],
    features: Mapping[str, Any],
    cache: CacheLoad | None = None,
) -> Workload:
    """The workload of a stack at `jobs_per_month` on `architecture`: the notification
    topic's kind (FIFO unless its ARN says otherwise) and each function's memory from the
    stack's outputs, and a line for each optional feature the stack runs (`features`:
    the status cache as `cache`, or the default serverless cache; the edge check; the
    analytics export)."""
    topic_arn = str(outputs.get(Output.NOTIFICATION_TOPIC_ARN) or "")
    workload = Workload(
        jobs_per_month=float(jobs_per_month),
        architecture=architecture,
        sns_fifo=topic_arn.endswith(".fifo") if topic_arn else True,
    )
    memory = outputs.get(Output.FUNCTION_MEMORY) or {}
    workload = replace(
        workload,
        functions=tuple(
            replace(f, memory_mb=float(memory.get(f.name, f.memory_mb))) for f in workload.functions
        ),
    )
    if features.get("caching"):
        workload = replace(workload, caching=cache or CacheLoad())
    if features.get("edge_auth"):
        workload = replace(workload, edge=EdgeLoad())
    if features.get("analytics"):
        workload = replace(workload, analytics=AnalyticsLoad())
    return workload


def with_animations(workload: Workload, animated_share: float, frames: float) -> Workload:
    """`animated_share` of the analyzed jobs are animations of `frames` sampled frames."""
    return replace(workload, animated_share=animated_share, frames_per_animated_job=float(frames))


def with_reuse(
    workload: Workload, reuse_on_stack: bool, reuse_share: float, skip_share: float
) -> Workload:
    """The what-if shares: `reuse_share` of the jobs complete from a stored verdict (reuse
    is on when the stack has it or the share is above 0), `skip_share` of the analyzed
    ones are rejected before Rekognition (custom-first)."""
    return replace(
        workload,
        verdict_reuse=reuse_on_stack or reuse_share > 0,
        reuse_share=reuse_share,
        rekognition_skip_share=skip_share,
    )
