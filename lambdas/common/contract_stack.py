"""Names the program, the functions and the dashboard agree on about a deployed stack: the
functions' environment variables (with what each holds), the stack outputs, the
features an output set reveals, and the metrics. Part of the contract
(`contract.py` re-exports them): standard library only, shipped in every package.
"""

from __future__ import annotations

from enum import StrEnum


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
    NEAR_DUPLICATE_DISTANCE = "NEAR_DUPLICATE_DISTANCE"
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
    # Statements of reasons and notices (DSA; docs/statements.md)
    STATEMENTS_TABLE = "STATEMENTS_TABLE"
    NOTICES_PER_DAY = "NOTICES_PER_DAY"
    NOTICE_USAGE_TABLE = "NOTICE_USAGE_TABLE"
    DSA_API_URL = "DSA_API_URL"
    DSA_TOKEN_SECRET = "DSA_TOKEN_SECRET"
    DSA_DLQ_URL = "DSA_DLQ_URL"
    BANKS_TABLE = "BANKS_TABLE"
    OPERATOR_GROUP = "OPERATOR_GROUP"


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
    Env.NEAR_DUPLICATE_DISTANCE: "PDQ bits within which a re-encoded repeat reuses Rekognition's "
    "labels (set only with verdictReuse.nearDuplicate)",
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
    Env.STATEMENTS_TABLE: "statements of reasons, one per restricting decision (keyed by puid)",
    Env.NOTICES_PER_DAY: "notices one user may send in a UTC day",
    Env.NOTICE_USAGE_TABLE: "per-user notice counts by day",
    Env.DSA_API_URL: "base URL of the Transparency Database API (or its local twin)",
    Env.DSA_TOKEN_SECRET: "name of the secret holding the platform's Transparency Database token",
    Env.DSA_DLQ_URL: "where statements that could not be submitted go",
    Env.BANKS_TABLE: "the hash banks table (docs/banks.md)",
    Env.OPERATOR_GROUP: "the Cognito group (`cognito:groups` claim) allowed to manage hash banks",
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
    # Statements of reasons (DSA)
    STATEMENTS_TABLE = "statements_table"
    STATEMENTS_DAY_INDEX = "statements_day_index"
    DSA_DLQ_URL = "dsa_dlq_url"
    # Hash banks
    BANKS_TABLE = "banks_table"
    OPERATOR_GROUP = "operator_group"


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
    REKOGNITION_NEAR_REUSED = "RekognitionNearDuplicateReused"
    # Statements of reasons: submitted, found already stored, sent to the dead letters.
    STATEMENTS_SUBMITTED = "StatementsSubmitted"
    STATEMENTS_ALREADY_STORED = "StatementsAlreadyStored"
    STATEMENTS_FAILED = "StatementsFailed"
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
    # A hash bank entry disabled for matching far above its usual rate (docs/banks.md).
    BANK_ENTRY_QUARANTINED = "BankEntryQuarantined"
