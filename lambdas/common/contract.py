"""Names that the program, the handlers, the local cloud and the dashboard must agree on.

Each is defined once, here. The module ships in every function package (it is part
of `common/`) and imports nothing beyond the standard library, so the Pulumi program
and the dashboard import it too (as `lambdas.common.contract`). Values are `StrEnum`
members: they compare equal to the plain strings stored in DynamoDB, written to
environments and exported as stack outputs, whichever import path produced them.
"""

from __future__ import annotations

from enum import StrEnum

# The deployed stack's names (environment, outputs, features, metrics), in their own module.
from .contract_stack import ENV_DOCS as ENV_DOCS
from .contract_stack import Env as Env
from .contract_stack import Feature as Feature
from .contract_stack import Metric as Metric
from .contract_stack import Output as Output


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


class JobAttr(StrEnum):
    """The job record's attributes: the jobs table's item, as every writer and reader names it.

    `common/jobs.py` is the only module that writes them; everything else reads. A new
    attribute is added here first (and to `disclosure.OWNER_FIELDS` if the owner may see it).
    """

    JOB_ID = "job_id"
    USER_ID = "user_id"
    STATUS = "status"
    # Timestamps (ISO 8601) and the record's TTL (epoch seconds).
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    COMPLETED_AT = "completed_at"
    EXPIRES_AT = "expires_at"
    # The upload.
    IMAGE_KEY = "image_key"
    IMAGE_ETAG = "image_etag"
    CONTENT_TYPE = "content_type"
    SIZE_BYTES = "size_bytes"
    CONTENT_SHA256 = "content_sha256"
    REQUEST_DIGEST = "request_digest"
    # The dispatcher's claim: attempts, its lease (epoch seconds), the expected branches.
    ATTEMPTS = "attempts"
    DISPATCH_LEASE = "dispatch_lease"
    BRANCHES = "branches"
    # The analyses' results (`Branch.result_attribute`).
    REKOGNITION_RESULT = "rekognition_result"
    CUSTOM_RESULT = "custom_result"
    TEXT_RESULT = "text_result"
    # The decision.
    DECISION = "decision"
    REASONS = "reasons"
    CATEGORIES = "categories"
    # Human review: the queue state, the rules' own decision once a moderator decided,
    # and the moderator's verdict (`ReviewField`).
    REVIEW_STATE = "review_state"
    AUTOMATIC_DECISION = "automatic_decision"
    REVIEW = "review"
    # Verdict reuse: the key the verdict is stored under, the job a reused verdict came from.
    VERDICT_KEY = "verdict_key"
    REUSED_FROM = "reused_from"


class ReviewField(StrEnum):
    """The fields of a job's `review` map: a moderator's verdict."""

    DECISION = "decision"
    REVIEWER = "reviewer"
    NOTE = "note"
    REVIEWED_AT = "reviewed_at"
    VIA = "via"


class VerdictAttr(StrEnum):
    """The verdicts table's item (`common/verdicts.py`): a stored verdict, or the meta item
    holding the Rekognition model version (`REKOGNITION_VERSION_KEY`)."""

    KEY = "verdict_key"
    DECISION = "decision"
    REASONS = "reasons"
    CATEGORIES = "categories"
    SOURCE_JOB_ID = "source_job_id"
    DECIDED_BY = "decided_by"
    DECIDED_AT = "decided_at"
    # When the source job was created: its analysis saw the banks as they were 30 s before.
    ANALYSED_FROM = "analysed_from"
    REKOGNITION_MODEL_VERSION = "rekognition_model_version"
    EXPIRES_AT = "expires_at"
    # The meta item's fields.
    VERSION = "version"
    SEEN_AT = "seen_at"


class Branch(StrEnum):
    """An analysis branch; its result is stored in the job's `<branch>_result` attribute.

    The dispatcher's claim records on the job which branches it expects (`branches`), so
    a job keeps its set while the stack's configuration changes under it.
    """

    REKOGNITION = "rekognition"
    CUSTOM = "custom"
    TEXT = "text"

    @property
    def result_attribute(self) -> JobAttr:
        return JobAttr(f"{self.value}_result")


# Where a job's image is kept once its bytes are validated (common/uploads.py): written
# once (conditional writes), never replaced. A presigned upload lands under
# INCOMING_PREFIX first and is copied here by the ingest that validated it.
UPLOADS_PREFIX = "uploads/"
INCOMING_PREFIX = "incoming/"
# The job attribute naming the image's key (`uploads/<job id>/original` once its bytes
# are in; `incoming/<job id>` while a presigned upload is awaited) and the one holding
# the ETag those bytes had when they were validated: every later read of the image (the
# analyzers, the publish copy) is conditional on it, so changed bytes fail loudly.
# (The same names as `JobAttr.IMAGE_KEY` / `JobAttr.IMAGE_ETAG`; the analyzers' payload
# carries them under these keys too.)
IMAGE_KEY = JobAttr.IMAGE_KEY
IMAGE_ETAG = JobAttr.IMAGE_ETAG


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
    # Notices (DSA Article 16): `POST /jobs/{job_id}/notices`, with `moderation:dsa.notices`.
    NOTICES = "notices"
    # Statements of reasons to the Transparency Database, with `moderation:dsa.submit`.
    DSA_SUBMITTER = "dsa_submitter"
    BANKS = "banks"


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
    Function.BANKS,
)
OPTIONAL_FUNCTIONS: tuple[Function, ...] = (
    Function.EXPORTER,
    Function.EDGE_AUTH,
    Function.NOTICES,
    Function.DSA_SUBMITTER,
)
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


# --- Statements of reasons and notices (DSA; docs/statements.md) -------------------------


class StatementField(StrEnum):
    """Attributes of the statements table's items (one per restricting decision)."""

    PUID = "puid"
    JOB_ID = "job_id"
    SOURCE = "source"
    DAY = "day"
    CREATED_AT = "created_at"
    STATEMENT = "statement"


# The statements table's indexes: a job's statements (the owner's route) and a day's
# (the export and the submission backlog).
STATEMENTS_JOB_INDEX = "job_id-created_at-index"
STATEMENTS_DAY_INDEX = "day-created_at-index"
STATEMENT_ROUTE = "GET /jobs/{job_id}/statement"
NOTICE_ROUTE = "POST /jobs/{job_id}/notices"


class NoticeField(StrEnum):
    """Job attributes a notice (DSA Article 16) writes.

    `notices`: every notice on the job (`{notice_id, notifier, category, explanation,
    at}`); `noticed`: true once a notice put the job in the review queue; `notice`: the
    latest notice (what the statement and the moderator see first);
    `notices_answered_through`: written by each moderator's verdict, the `notice_id` of
    the latest notice in the item when the verdict was written (`""` when there was
    none), so the next verdict answers exactly the notices appended after it.
    """

    NOTICES = "notices"
    NOTICED = "noticed"
    LATEST = "notice"
    ANSWERED_THROUGH = "notices_answered_through"


class NoticeEvent(StrEnum):
    """The notification addressed to a notifier (never naming the uploader)."""

    NOTICE_OUTCOME = "notice_outcome"


# Hash banks (docs/banks.md): the banks table, its API and what a match records.
BANKS_ROUTES = (
    "GET /banks",
    "PUT /banks/{bank}",
    "POST /banks/{bank}/entries",
    "GET /banks/{bank}/entries",
    "DELETE /banks/{bank}/entries/{entry_id}",
    "POST /banks/{bank}/import",
    "GET /banks/{bank}/export",
)
DEFAULT_OPERATOR_GROUP = "operators"
# The bank `moderation:blocklistHashes` seeds on `pulumi up` (docs/banks.md, migration).
SEED_BANK = "stack-blocklist"
# The decision category of a match in a `review` bank (a `reject` bank's is `blocklisted`).
BANK_REVIEW_CATEGORY = "bank_review"


class BankAction(StrEnum):
    REJECT = "reject"
    REVIEW = "review"
    ALLOW = "allow"


class HashType(StrEnum):
    PDQ = "pdq"
    DHASH = "dhash"


# The analyzer reloads the banks at most this often: a change applies to jobs created
# this long after it.
BANK_CACHE_SECONDS = 30
# The banks table's item stamped at every change (its `bank` is no valid bank name, so no
# listing or load sees it as a bank), and its time attribute; verdict reuse reads it.
BANKS_CHANGED_KEY = {"bank": "#", "entry_id": "#changed"}
BANKS_CHANGED_AT = "changed_at"


class BankMatchField(StrEnum):
    """A bank match on the custom branch's result (`bank_matches`), for operators only."""

    MATCHES = "bank_matches"
    BANK = "bank"
    ACTION = "action"
    ENTRY_ID = "entry_id"
    HASH_TYPE = "hash_type"
    DISTANCE = "distance"
