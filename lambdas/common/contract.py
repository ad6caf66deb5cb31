"""Names that the program, the handlers, the local cloud and the dashboard must agree on.

Each is defined once, here. The module ships in every function package (it is part
of `common/`) and imports nothing beyond the standard library, so the Pulumi program
and the dashboard import it too (as `lambdas.common.contract`). Values are `StrEnum`
members: they compare equal to the plain strings stored in DynamoDB, written to
environments and exported as stack outputs, whichever import path produced them.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A job's status. It only moves forward: pending -> analyzing -> complete | failed."""

    PENDING = "pending"
    ANALYZING = "analyzing"
    COMPLETE = "complete"
    FAILED = "failed"


TERMINAL_STATUSES: tuple[Status, ...] = (Status.COMPLETE, Status.FAILED)


class Decision(StrEnum):
    """The moderation decision of a complete job."""

    APPROVE = "approve"
    WARN = "warn"
    REJECT = "reject"
    REVIEW = "review"


class ReviewState(StrEnum):
    """Where a complete job stands with the moderators; absent when no person needs to look.

    `pending`: the rules decided `review` (or `warn`, with `moderation:review.queueWarn`)
    and the job waits in the review queue; `reviewed`: a moderator's verdict is recorded.
    """

    PENDING = "pending"
    REVIEWED = "reviewed"


# What a moderator may decide: the job's final decision becomes this.
VERDICTS: tuple[Decision, ...] = (Decision.APPROVE, Decision.REJECT)


class NotificationEvent(StrEnum):
    """What a notification announces (its `event` field and message attribute).

    A job gets one `decided` or `failed` notification when it becomes terminal, or
    `awaiting_review` when its decision waits for a moderator; a reviewed job then gets
    exactly one `reviewed` notification carrying the verdict.
    """

    DECIDED = "decided"
    FAILED = "failed"
    AWAITING_REVIEW = "awaiting_review"
    REVIEWED = "reviewed"
    # An appeal was decided (once per appeal: upheld or overturned).
    APPEAL_DECIDED = "appeal_decided"


class Branch(StrEnum):
    """An analysis branch; its result is stored in the job's `<branch>_result` attribute.

    The dispatcher's claim records on the job which branches it expects (`branches`), so
    a job keeps its set while the stack's configuration changes under it.
    """

    REKOGNITION = "rekognition"
    CUSTOM = "custom"
    TEXT = "text"

    @property
    def result_attribute(self) -> str:
        return f"{self.value}_result"


# Where a job's image is kept once its bytes are validated (common/uploads.py): written
# once (conditional writes), never replaced. A presigned upload lands under
# INCOMING_PREFIX first and is copied here by the ingest that validated it.
UPLOADS_PREFIX = "uploads/"
INCOMING_PREFIX = "incoming/"
# The job attribute naming the image's key (`uploads/<job id>/original` once its bytes
# are in; `incoming/<job id>` while a presigned upload is awaited) and the one holding
# the ETag those bytes had when they were validated: every later read of the image (the
# analyzers, the publish copy) is conditional on it, so changed bytes fail loudly.
IMAGE_KEY = "image_key"
IMAGE_ETAG = "image_etag"


# The jobs table's index on (status, created_at): the sweeper and the dashboard query it.
STATUS_INDEX = "status-created_at-index"
# The jobs table's sparse index on (review_state, completed_at): only jobs that went to
# review are in it; the review queue is its `pending` partition, oldest first.
REVIEW_INDEX = "review_state-completed_at-index"
# The review function's two routes (one function serves both, by `routeKey`).
REVIEWS_ROUTE = "GET /reviews"
VERDICT_ROUTE = "POST /jobs/{job_id}/review"
# The JWT claim that lists a Cognito user's groups.
GROUPS_CLAIM = "cognito:groups"
# The verdicts table's item holding the Rekognition model version last seen, next to the
# verdicts (keyed `<content sha256>#<rules digest>`) that depend on it.
REKOGNITION_VERSION_KEY = "meta#rekognition-model-version"
# The upload usage table (per-user limits, common/quotas.py): its key, and its index on
# (day, day_count) that lists the day's heaviest uploaders (the dashboard).
USAGE_KEY = "usage_key"
USAGE_DAY_INDEX = "day-day_count-index"
# The CloudWatch namespace of every EMF metric the handlers write.
METRICS_NAMESPACE = "Moderation"


class AnalysisOrder(StrEnum):
    """How the dispatcher starts the branches (`moderation:analysisOrder`).

    `parallel`: all at once. `custom-first`: the branches that run on this stack's own
    models first; Rekognition only when their results are not already a reject.
    """

    PARALLEL = "parallel"
    CUSTOM_FIRST = "custom-first"


class AnimationPolicy(StrEnum):
    """What happens to an animated upload (GIF, APNG, animated WebP): `moderation:animation.policy`.

    `analyze`: sampled frames are analysed in every branch and the most severe decides.
    `reject`: animated uploads are refused at upload (415). `first-frame-only`: only frame 0
    is analysed, which lets anything shown on a later frame through.
    """

    ANALYZE = "analyze"
    REJECT = "reject"
    FIRST_FRAME_ONLY = "first-frame-only"


class FrameField(StrEnum):
    """Where a branch result records the frames of an animation (moderators see them).

    The result's `frames` holds `{count, analyzed, policy}` (frames in the file, the
    indices analysed); a signal or Rekognition label carries the `frame` that gave its
    score; the Rekognition result counts its billed `calls`.
    """

    FRAMES = "frames"
    COUNT = "count"
    ANALYZED = "analyzed"
    POLICY = "policy"
    FRAME = "frame"
    CALLS = "calls"


class Function(StrEnum):
    """Logical function names: the key of every per-function setting, output and log group."""

    UPLOAD = "upload"
    STATUS = "status"
    DISPATCHER = "dispatcher"
    REKOGNITION_ANALYZER = "rekognition_analyzer"
    CUSTOM_ANALYZER = "custom_analyzer"
    TEXT_ANALYZER = "text_analyzer"
    NOTIFIER = "notifier"
    SWEEPER = "sweeper"
    EXPORTER = "exporter"
    EDGE_AUTH = "edge_auth"
    REVIEW = "review"


PIPELINE_FUNCTIONS: tuple[Function, ...] = (
    Function.UPLOAD,
    Function.STATUS,
    Function.DISPATCHER,
    Function.REKOGNITION_ANALYZER,
    Function.CUSTOM_ANALYZER,
    Function.TEXT_ANALYZER,
    Function.NOTIFIER,
    Function.SWEEPER,
    Function.REVIEW,
)
OPTIONAL_FUNCTIONS: tuple[Function, ...] = (Function.EXPORTER, Function.EDGE_AUTH)
ALL_FUNCTIONS: tuple[Function, ...] = PIPELINE_FUNCTIONS + OPTIONAL_FUNCTIONS

# Which function analyzes which branch.
BRANCH_FUNCTIONS: dict[Branch, Function] = {
    Branch.REKOGNITION: Function.REKOGNITION_ANALYZER,
    Branch.CUSTOM: Function.CUSTOM_ANALYZER,
    Branch.TEXT: Function.TEXT_ANALYZER,
}
# The models each model function runs (the `model` dimension of its ModelInferenceMs).
FUNCTION_MODELS: dict[Function, tuple[str, ...]] = {
    Function.CUSTOM_ANALYZER: ("open_nsfw", "blazeface_short_range"),
    Function.TEXT_ANALYZER: ("rapidocr",),
}
# Jobs claimed before the job recorded its branches expected these two.
LEGACY_BRANCHES: tuple[Branch, ...] = (Branch.REKOGNITION, Branch.CUSTOM)

# The file baked into a function's package holding its rule configuration (blocklist,
# categories, terms, thresholds): Lambda allows 4 KB of environment per function.
FUNCTION_CONFIG_FILE = "function_config.json"
# The directory of a function's package holding the model files built for it.
MODELS_DIR = "models"


class Env(StrEnum):
    """Environment variables the program sets and the handlers read."""

    JOBS_TABLE = "JOBS_TABLE"
    UPLOAD_BUCKET = "UPLOAD_BUCKET"
    PROCESSING_QUEUE_URL = "PROCESSING_QUEUE_URL"
    NOTIFICATION_TOPIC_ARN = "NOTIFICATION_TOPIC_ARN"
    REKOGNITION_FUNCTION = "REKOGNITION_FUNCTION"
    CUSTOM_FUNCTION = "CUSTOM_FUNCTION"
    TEXT_FUNCTION = "TEXT_FUNCTION"
    FAILURE_QUEUE_URL = "FAILURE_QUEUE_URL"
    RESULTS_BUCKET = "RESULTS_BUCKET"
    IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
    IDEMPOTENCY_TTL_SECONDS = "IDEMPOTENCY_TTL_SECONDS"
    MAX_INLINE_UPLOAD_BYTES = "MAX_INLINE_UPLOAD_BYTES"
    MAX_UPLOAD_BYTES = "MAX_UPLOAD_BYTES"
    PRESIGN_EXPIRY_SECONDS = "PRESIGN_EXPIRY_SECONDS"
    JOB_RETENTION_DAYS = "JOB_RETENTION_DAYS"
    DISPATCH_LEASE_SECONDS = "DISPATCH_LEASE_SECONDS"
    CUSTOM_MODEL = "CUSTOM_MODEL"
    MODEL_THREADS = "MODEL_THREADS"
    JOB_DEADLINE_SECONDS = "JOB_DEADLINE_SECONDS"
    CACHE_ENDPOINT = "CACHE_ENDPOINT"
    CACHE_SECRET_ARN = "CACHE_SECRET_ARN"
    CACHE_ACTIVE_TTL_SECONDS = "CACHE_ACTIVE_TTL_SECONDS"
    CACHE_TERMINAL_TTL_SECONDS = "CACHE_TERMINAL_TTL_SECONDS"
    CACHE_LOCAL_LRU_SIZE = "CACHE_LOCAL_LRU_SIZE"
    CONTENT_BUCKET = "CONTENT_BUCKET"
    CONTENT_MAX_AGE_SECONDS = "CONTENT_MAX_AGE_SECONDS"
    CDN_BASE_URL = "CDN_BASE_URL"
    EXPORT_PREFIX = "EXPORT_PREFIX"
    LEASE_TABLE = "LEASE_TABLE"
    SWEEP_LEASE_SECONDS = "SWEEP_LEASE_SECONDS"
    VERDICTS_TABLE = "VERDICTS_TABLE"
    VERDICT_DIGEST = "VERDICT_DIGEST"
    VERDICT_TTL_DAYS = "VERDICT_TTL_DAYS"
    ANALYSIS_ORDER = "ANALYSIS_ORDER"
    REVIEW_QUEUE_WARN = "REVIEW_QUEUE_WARN"
    MODERATOR_GROUP = "MODERATOR_GROUP"
    REVIEW_IMAGE_URL_SECONDS = "REVIEW_IMAGE_URL_SECONDS"
    USAGE_TABLE = "USAGE_TABLE"
    UPLOADS_PER_MINUTE = "UPLOADS_PER_MINUTE"
    UPLOADS_PER_DAY = "UPLOADS_PER_DAY"
    ANIMATION_POLICY = "ANIMATION_POLICY"
    ANIMATION_MAX_FRAMES = "ANIMATION_MAX_FRAMES"
    REVIEW_CLAIM_MINUTES = "REVIEW_CLAIM_MINUTES"
    REVIEW_QA_SAMPLE_RATE = "REVIEW_QA_SAMPLE_RATE"
    APPEAL_WINDOW_DAYS = "APPEAL_WINDOW_DAYS"
    # The audit log (lambdas/common/audit.py)
    AUDIT_TABLE = "AUDIT_TABLE"


# What each variable holds: the source of docs/settings.md's function-environment table.
ENV_DOCS: dict[Env, str] = {
    Env.JOBS_TABLE: "the jobs table's name",
    Env.UPLOAD_BUCKET: "the bucket holding the originals (`uploads/`, `incoming/`)",
    Env.PROCESSING_QUEUE_URL: "the processing queue the upload sends `{job_id}` to",
    Env.NOTIFICATION_TOPIC_ARN: "the notification topic",
    Env.REKOGNITION_FUNCTION: "the Rekognition analyzer's function name",
    Env.CUSTOM_FUNCTION: "the custom analyzer's function name",
    Env.TEXT_FUNCTION: "the text analyzer's function name (unset: no text branch)",
    Env.FAILURE_QUEUE_URL: "the analyzers' on-failure destination queue",
    Env.RESULTS_BUCKET: "the analytics results bucket",
    Env.IDEMPOTENCY_TABLE: "Powertools idempotency records of keyed uploads",
    Env.IDEMPOTENCY_TTL_SECONDS: "how long an Idempotency-Key is remembered",
    Env.MAX_INLINE_UPLOAD_BYTES: "largest image accepted as a request body",
    Env.MAX_UPLOAD_BYTES: "largest image accepted through a presigned PUT",
    Env.PRESIGN_EXPIRY_SECONDS: "lifetime of a presigned PUT",
    Env.JOB_RETENTION_DAYS: "the job record's TTL (`expires_at`)",
    Env.DISPATCH_LEASE_SECONDS: "the dispatcher's claim lease (its timeout)",
    Env.CUSTOM_MODEL: "optional plugin `module:function` (yours to set)",
    Env.MODEL_THREADS: "ONNX Runtime intra-op threads: one per 1,769 MB (Lambda's vCPU share)",
    Env.JOB_DEADLINE_SECONDS: "jobs older than this are failed by the sweeper",
    Env.CACHE_ENDPOINT: "the status cache's `rediss://host:port`",
    Env.CACHE_SECRET_ARN: "the cache credentials' secret",
    Env.CACHE_ACTIVE_TTL_SECONDS: "how long a non-terminal status may be cached",
    Env.CACHE_TERMINAL_TTL_SECONDS: "how long a terminal status is cached",
    Env.CACHE_LOCAL_LRU_SIZE: "entries of the in-process cache tier",
    Env.CONTENT_BUCKET: "the CDN's content bucket (approved images)",
    Env.CONTENT_MAX_AGE_SECONDS: "`Cache-Control` max-age of published images",
    Env.CDN_BASE_URL: "base of `content_url` in status answers",
    Env.EXPORT_PREFIX: "key prefix of exported rows",
    Env.LEASE_TABLE: "where the sweeper takes its run lease (the idempotency table)",
    Env.SWEEP_LEASE_SECONDS: "how long a sweep's lease lasts (the sweeper's timeout)",
    Env.VERDICTS_TABLE: "stored verdicts by content hash (unset: verdict reuse is off)",
    Env.VERDICT_DIGEST: "digest of the rules, categories and model versions a verdict depends on",
    Env.VERDICT_TTL_DAYS: "how long a stored verdict may be reused",
    Env.ANALYSIS_ORDER: "`parallel` or `custom-first` (Rekognition only when not already a reject)",
    Env.REVIEW_QUEUE_WARN: "`true`: `warn` decisions wait for a moderator too",
    Env.MODERATOR_GROUP: "the Cognito group (`cognito:groups` claim) allowed to review",
    Env.REVIEW_IMAGE_URL_SECONDS: "lifetime of the presigned image URL in the review queue",
    Env.USAGE_TABLE: "per-user upload counts by day (unset: no per-user limits)",
    Env.UPLOADS_PER_MINUTE: "uploads one user may start in a clock minute",
    Env.UPLOADS_PER_DAY: "uploads one user may start in a UTC day",
    Env.ANIMATION_POLICY: "`analyze`, `reject` or `first-frame-only`: what an animated upload gets",
    Env.ANIMATION_MAX_FRAMES: "frames of an animation analysed (the upload's pixel limit uses it)",
    Env.REVIEW_CLAIM_MINUTES: "how long a moderator's claim on a queued job lasts",
    Env.REVIEW_QA_SAMPLE_RATE: "share (0-1) of automatic decisions and verdicts sent to QA",
    Env.APPEAL_WINDOW_DAYS: "days after its decision a job may be appealed by its owner",
    Env.AUDIT_TABLE: "the audit log: who did what to which ids, when (lambdas/common/audit.py)",
}


class Output(StrEnum):
    """Stack output keys: what `pulumi stack output --json` holds and the dashboard reads."""

    STACK = "stack"
    REGION = "region"
    API_URL = "api_url"
    JOBS_TABLE = "jobs_table"
    STATUS_INDEX = "status_index"
    REVIEW_INDEX = "review_index"
    MODERATOR_GROUP = "moderator_group"
    REVIEW_MAX_AGE_MINUTES = "review_max_age_minutes"
    REVIEW_CLAIM_MINUTES = "review_claim_minutes"
    REVIEW_QA_SAMPLE_RATE = "review_qa_sample_rate"
    IDEMPOTENCY_TABLE = "idempotency_table"
    VERDICTS_TABLE = "verdicts_table"
    VERDICT_TTL_DAYS = "verdict_ttl_days"
    USAGE_TABLE = "usage_table"
    UPLOADS_PER_DAY = "uploads_per_day"
    UPLOAD_BUCKET = "upload_bucket"
    PROCESSING_QUEUE_URL = "processing_queue_url"
    DLQ_URL = "dlq_url"
    FAILURE_QUEUE_URL = "failure_queue_url"
    NOTIFICATION_TOPIC_ARN = "notification_topic_arn"
    ALARM_TOPIC_ARN = "alarm_topic_arn"
    ALARM_NAMES = "alarm_names"
    FUNCTIONS = "functions"
    FUNCTION_MEMORY = "function_memory"
    LOG_GROUPS = "log_groups"
    API_LOG_GROUP = "api_log_group"
    ARCHITECTURE = "architecture"
    FEATURES = "features"
    JOB_DEADLINE_SECONDS = "job_deadline_seconds"
    # Status cache
    CACHE_ENDPOINT = "cache_endpoint"
    VPC_ID = "vpc_id"
    STATUS_SECURITY_GROUP_ID = "status_security_group_id"
    # Analytics
    RESULTS_BUCKET = "results_bucket"
    EMR_APPLICATION_ID = "emr_application_id"
    EXPORTER_FAILURE_QUEUE_URL = "exporter_failure_queue_url"
    REPORT_JOB_ROLE_ARN = "report_job_role_arn"
    # Edge auth
    CDN_URL = "cdn_url"
    CONTENT_BUCKET = "content_bucket"
    USER_POOL_ID = "user_pool_id"
    USER_POOL_CLIENT_ID = "user_pool_client_id"
    USER_POOL_ISSUER = "user_pool_issuer"
    COGNITO_DOMAIN = "cognito_domain"
    EDGE_FUNCTION_ARN = "edge_function_arn"
    EDGE_FUNCTION_NAME = "edge_function_name"
    DISTRIBUTION_ID = "distribution_id"
    # The audit log (lambdas/common/audit.py)
    AUDIT_TABLE = "audit_table"


class Feature(StrEnum):
    """Keys of the `features` output: which optional components the stack has."""

    CACHING = "caching"
    EDGE_AUTH = "edge_auth"
    ANALYTICS = "analytics"


class Metric(StrEnum):
    """EMF metrics (namespace `Moderation`) the handlers write and the dashboard and alarms read."""

    JOBS_ACCEPTED = "JobsAccepted"
    UPLOADS_REJECTED = "UploadsRejected"
    JOBS_DISPATCHED = "JobsDispatched"
    DUPLICATE_DELIVERIES = "DuplicateDeliveries"
    JOBS_FINALIZED = "JobsFinalized"
    JOBS_COMPLETE = "JobsComplete"
    JOBS_FAILED = "JobsFailed"
    STUCK_JOBS = "StuckJobs"
    JOBS_FAILED_BY_SWEEPER = "JobsFailedBySweeper"
    SWEEPS_SKIPPED = "SweepsSkipped"
    UNREADABLE_FAILURE_RECORDS = "UnreadableFailureRecords"
    JOBS_EXPORTED = "JobsExported"
    EXPORT_OBJECTS = "ExportObjects"
    UNREADABLE_STREAM_RECORDS = "UnreadableStreamRecords"
    CACHE_HIT_LOCAL = "CacheHitLocal"
    CACHE_HIT_REMOTE = "CacheHitRemote"
    CACHE_MISS = "CacheMiss"
    CACHE_ERROR = "CacheError"
    EDGE_REQUESTS_REFUSED = "EdgeRequestsRefused"
    MODEL_INFERENCE_MS = "ModelInferenceMs"
    MODEL_LOAD_MS = "ModelLoadMs"
    # Human review: the sweeper's view of the queue, the review function's verdicts and
    # refusals, the notifier's `reviewed` notifications.
    REVIEW_BACKLOG = "ReviewBacklog"
    OLDEST_REVIEW_AGE_SECONDS = "OldestReviewAgeSeconds"
    REVIEW_VERDICTS = "ReviewVerdicts"
    REVIEW_CONFLICTS = "ReviewConflicts"
    REVIEWS_REFUSED = "ReviewsRefused"
    JOBS_REVIEWED = "JobsReviewed"
    # Cost: jobs completed from a stored verdict (no analyzer ran), verdicts stored, and
    # jobs that custom-first finished without calling Rekognition.
    VERDICTS_REUSED = "VerdictsReused"
    VERDICTS_STORED = "VerdictsStored"
    REKOGNITION_SKIPPED = "RekognitionSkipped"
    # Per-user limits: uploads refused with 429 (the `limit` is in the log line).
    UPLOADS_OVER_QUOTA = "UploadsOverQuota"
    # Billed DetectModerationLabels calls (one per analysed frame of an animation).
    REKOGNITION_CALLS = "RekognitionCalls"
    # Claims, appeals and QA (the review function, dimension `queue`): how long an item
    # waited before it was claimed, how long its claimant took to decide it.
    REVIEW_TIME_TO_CLAIM_SECONDS = "ReviewTimeToClaimSeconds"
    REVIEW_TIME_TO_DECIDE_SECONDS = "ReviewTimeToDecideSeconds"
    REVIEW_CLAIMS = "ReviewClaims"
    APPEALS = "Appeals"
    APPEALS_DECIDED = "AppealsDecided"
    QA_DECIDED = "QaDecided"


def terminal_metric(status: str) -> Metric:
    """The metric the notifier counts a job under once it is terminal."""
    return Metric.JOBS_COMPLETE if status == Status.COMPLETE else Metric.JOBS_FAILED


# --- claims, appeals and QA (common/claims.py, common/appeals.py, common/qa.py) -----------
# The jobs table's sparse indexes of the appeal and QA queues (hash: the state, range: when
# the job entered the queue); the review queue is REVIEW_INDEX's `pending` partition.
APPEAL_INDEX = "appeal_state-appealed_at-index"
QA_INDEX = "qa_state-qa_queued_at-index"
# The review function's further routes (one function serves every moderator route, and
# the owner's appeal).
CLAIM_ROUTE = "POST /reviews/claim"
RELEASE_ROUTE = "POST /reviews/{job_id}/release"
APPEAL_ROUTE = "POST /jobs/{job_id}/appeal"
APPEAL_DECISION_ROUTE = "POST /jobs/{job_id}/appeal/decision"
QA_ROUTE = "POST /jobs/{job_id}/qa"


class WorkQueue(StrEnum):
    """A queue moderators claim from: the review queue, the appeal queue, the QA queue."""

    REVIEW = "review"
    APPEAL = "appeal"
    QA = "qa"

    def claim_attribute(self, field: ClaimField) -> str:
        """The job attribute holding this queue's claim `field` (`review_claim_by`, ...)."""
        return f"{self.value}_{field.value}"


class ClaimField(StrEnum):
    """A claim on a queued job, one set per queue (`WorkQueue.claim_attribute`): who holds
    it, until when (epoch seconds; past it the job is back in the queue), since when."""

    BY = "claim_by"
    UNTIL = "claim_until"
    AT = "claimed_at"


class AppealField(StrEnum):
    """A job's appeal: `appeal_state` and `appealed_at` key the appeal index; `appeal` is
    `{message, appealed_at, decision_before, outcome, note, decided_by, decided_at}`."""

    STATE = "appeal_state"
    AT = "appealed_at"
    APPEAL = "appeal"


class AppealState(StrEnum):
    PENDING = "pending"
    DECIDED = "decided"


class AppealOutcome(StrEnum):
    UPHOLD = "uphold"
    OVERTURN = "overturn"


class QaField(StrEnum):
    """A job sampled for QA: `qa_state` and `qa_queued_at` key the QA index; `qa` is
    `{source, original, original_reviewer, decision, reviewer, note, decided_at, agrees}`."""

    STATE = "qa_state"
    QUEUED_AT = "qa_queued_at"
    QA = "qa"


class QaState(StrEnum):
    PENDING = "pending"
    DECIDED = "decided"
