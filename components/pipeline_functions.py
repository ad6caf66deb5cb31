"""The pipeline's functions: for each, its environment and exactly what its role may touch.

One builder per function, so a reviewer reads a function's permissions in one place;
`tests/program/test_security.py` checks them all (no wildcard beyond what AWS requires,
no access to another function's resources).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pulumi
import pulumi_aws as aws

from components import packaging
from components.function import FunctionSpec, statement
from components.messaging import NotificationTopic, ProcessingQueues
from components.quotas import UploadQuotas
from components.settings import StackSettings
from components.statements import Statements
from components.storage import JobStore
from lambdas.common import rules
from lambdas.common.contract import AnalysisOrder, Env, Function
from lambdas.common.dispatch import Plan
from lambdas.common.models import MODEL_PACKAGES

# The converted model each function's package carries (scripts/build_models.py).
MODELS_BUILD = packaging.BUILD / "models"
FACE_MODEL = "face_detection_short_range.onnx"
# The text analyzer keeps this much recognised text in the job (DynamoDB items are <= 400 KB).
MAX_TEXT_CHARS = 1000
# Lambda gives a function one vCPU's worth of CPU per 1,769 MB of memory.
MB_PER_VCPU = 1769


def rule_sections(s: StackSettings) -> dict[str, Any]:
    """Every rule section an analyzer is built with (the verdict digest covers all)."""
    return {
        "decision": rules.decision_section(
            s.rekognition_min_confidence,
            s.reject_threshold,
            s.unsafe_categories,
            s.custom_categories,
        ),
        "custom": rules.custom_section(
            s.blocklist_hashes, s.blocklist_max_distance, s.min_image_side, s.max_aspect_ratio
        ),
        "text": rules.text_section(s.blocked_terms, MAX_TEXT_CHARS),
        "animation": animation_section(s),
    }


def animation_section(s: StackSettings) -> dict[str, Any]:
    return rules.animation_section(s.animation.max_frames, s.animation.policy)


# Model files each function's package carries besides its dependencies' own.
MODEL_FILES: dict[str, tuple[Any, ...]] = {Function.CUSTOM_ANALYZER: (MODELS_BUILD / FACE_MODEL,)}


def verdict_digest(settings: StackSettings, sections: dict[str, Any]) -> str:
    """What a stored verdict depends on, hashed: the rules every analyzer is built with,
    the branches, and the versions of the models (packages and converted files).

    Any change gives a new digest, so verdicts decided before it are never reused.
    Rekognition's model version is checked at lookup instead (lambdas/common/verdicts.py).
    """
    files = sorted(MODELS_BUILD.glob("*.onnx"))
    doc = {
        "sections": sections,
        "text_analysis": settings.text_analysis_enabled,
        "packages": {p: _installed_version(p) for p in MODEL_PACKAGES},
        "model_files": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _installed_version(dist: str) -> str:
    """The version the function packages are built with (the lock installs both)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def model_threads(memory_mb: int) -> str:
    """ONNX Runtime's intra-op threads for a function: its share of vCPUs, at least one
    (more threads than the share only contend for it)."""
    return str(max(1, round(memory_mb / MB_PER_VCPU)))


@dataclass
class EdgeInputs:
    """What the pipeline takes from EdgeAuth: one sign-in for API and CDN, and the CDN's bucket."""

    jwt_issuer: pulumi.Input[str]
    jwt_audience: pulumi.Input[list[str]]
    content_bucket_name: pulumi.Input[str]
    content_bucket_arn: pulumi.Input[str]
    cdn_base_url: pulumi.Input[str]


@dataclass
class CacheInputs:
    """What the pipeline takes from StatusCache: the status function joins its VPC."""

    vpc_config: aws.lambda_.FunctionVpcConfigArgsDict
    # The cache endpoint is None while the cache reports no endpoint.
    environment: dict[str, pulumi.Input[str | None]]
    statements: list[dict[str, Any]]
    # Third-party packages only the cached status code imports (`redis`).
    extra_requirements: tuple[str, ...] = ()


@dataclass
class Resources:
    """The pipeline's stores, queues and topic, as the function builders need them."""

    settings: StackSettings
    store: JobStore
    queues: ProcessingQueues
    topic: NotificationTopic
    edge: EdgeInputs | None = None
    cache: CacheInputs | None = None
    quotas: UploadQuotas | None = None
    # Statements of reasons (DSA): written by the notifier, read by the status function.
    statements: Statements | None = None
    uploads_objects: pulumi.Output[str] = field(init=False)
    incoming_objects: pulumi.Output[str] = field(init=False)

    def __post_init__(self) -> None:
        self.uploads_objects = self.store.objects("uploads/")
        self.incoming_objects = self.store.objects("incoming/")

    def rule_sections(self) -> dict[str, Any]:
        return rule_sections(self.settings)

    def reuse_environment(self, near: bool = False) -> dict[str, pulumi.Input[str]]:
        """Where verdicts are and what they depend on; empty with verdict reuse off.
        `near`: the analyzers', with the near-duplicate distance when that is on."""
        table = self.store.verdicts_table
        if table is None:
            return {}
        reuse = self.settings.verdict_reuse
        out: dict[str, pulumi.Input[str]] = {
            Env.VERDICTS_TABLE: table.name,
            Env.VERDICT_DIGEST: verdict_digest(self.settings, self.rule_sections()),
            Env.VERDICT_TTL_DAYS: str(reuse.ttl_days),
        }
        if near and reuse.near_duplicate:
            out[Env.NEAR_DUPLICATE_DISTANCE] = str(reuse.near_duplicate_distance)
        return out

    def reuse_statements(self, sid: str, actions: list[str]) -> list[dict[str, Any]]:
        table = self.store.verdicts_table
        return [statement(sid, actions, [table.arn])] if table is not None else []

    def branch_environment(self) -> dict[str, pulumi.Input[str]]:
        return {
            Env.JOBS_TABLE: self.store.table.name,
            Env.UPLOAD_BUCKET: self.store.uploads.name,
            **Plan.to_env(
                self.settings.analysis_order,
                self.settings.review.queue_warn,
                self.settings.review.qa_sample_rate,
            ),
            **self.reuse_environment(near=True),
        }

    def decision_config(self) -> dict[str, Any]:
        """The rules every analyzer needs: the decision (any branch may be the one that
        finalizes) and which frames of an animation it analyses."""
        sections = rule_sections(self.settings)
        return {"decision": sections["decision"], "animation": sections["animation"]}

    def branch_statements(self) -> list[dict[str, Any]]:
        """What every analyzer needs: read the image, write its result, fail over."""
        return [
            # Only validated originals: a job's image is under uploads/ once it is queued.
            statement("ReadImages", ["s3:GetObject"], [self.uploads_objects]),
            statement("WriteResult", ["dynamodb:UpdateItem"], [self.store.table.arn]),
            statement("OnFailureDestination", ["sqs:SendMessage"], [self.queues.failure_queue.arn]),
            # The branch that finalizes stores the verdict for reuse.
            *self.reuse_statements("StoreVerdicts", ["dynamodb:PutItem"]),
            # Near-duplicate reuse: the branch completing the custom side looks up the PDQ
            # index, and the finalizer files the image under its slice keys.
            *(
                self.reuse_statements(
                    "NearDuplicateIndex", ["dynamodb:BatchGetItem", "dynamodb:UpdateItem"]
                )
                if self.settings.verdict_reuse.near_duplicate
                else []
            ),
        ]

    def follow_on(
        self, rekognition: Any
    ) -> tuple[dict[str, pulumi.Input[str]], list[dict[str, Any]]]:
        """custom-first: the custom-side branches start Rekognition once they are in."""
        if self.settings.analysis_order != AnalysisOrder.CUSTOM_FIRST or rekognition is None:
            return {}, []
        return (
            {Env.REKOGNITION_FUNCTION: rekognition.invoke_name},
            [statement("StartRekognition", ["lambda:InvokeFunction"], [rekognition.invoke_arn])],
        )


def rekognition_analyzer(r: Resources) -> FunctionSpec:
    return FunctionSpec(
        name=Function.REKOGNITION_ANALYZER,
        description="Rekognition moderation labels for one job",
        environment=r.branch_environment(),
        config=r.decision_config(),
        statements=[
            # DetectModerationLabels has no resource-level permissions: AWS requires "*".
            statement("DetectModerationLabels", ["rekognition:DetectModerationLabels"], ["*"]),
            *r.branch_statements(),
        ],
    )


def custom_analyzer(r: Resources, rekognition: Any = None) -> FunctionSpec:
    """`rekognition`: the Rekognition analyzer's LambdaFunction (custom-first starts it)."""
    s = r.settings
    follow_env, follow_statements = r.follow_on(rekognition)
    return FunctionSpec(
        name=Function.CUSTOM_ANALYZER,
        description="NSFW classifier, faces, blocklist and image checks for one job",
        environment={
            **r.branch_environment(),
            **follow_env,
            Env.MODEL_THREADS: model_threads(s.function(Function.CUSTOM_ANALYZER).memory),
        },
        config={
            **r.decision_config(),
            "custom": rules.custom_section(
                s.blocklist_hashes, s.blocklist_max_distance, s.min_image_side, s.max_aspect_ratio
            ),
        },
        model_files=MODEL_FILES[Function.CUSTOM_ANALYZER],
        statements=[*r.branch_statements(), *follow_statements],
        provisioned_concurrency=s.custom_provisioned_concurrency,
    )


def text_analyzer(r: Resources, rekognition: Any = None) -> FunctionSpec:
    follow_env, follow_statements = r.follow_on(rekognition)
    return FunctionSpec(
        name=Function.TEXT_ANALYZER,
        description="Text in the image (OCR): links, contact details, blocked terms",
        environment={
            **r.branch_environment(),
            **follow_env,
            Env.MODEL_THREADS: model_threads(r.settings.function(Function.TEXT_ANALYZER).memory),
        },
        config={
            **r.decision_config(),
            "text": rules.text_section(r.settings.blocked_terms, MAX_TEXT_CHARS),
        },
        statements=[*r.branch_statements(), *follow_statements],
    )


def upload(r: Resources) -> FunctionSpec:
    s = r.settings
    objects = [r.uploads_objects, r.incoming_objects]
    return FunctionSpec(
        name=Function.UPLOAD,
        description="POST /jobs and presigned-upload validation",
        environment={
            Env.JOBS_TABLE: r.store.table.name,
            Env.IDEMPOTENCY_TABLE: r.store.idempotency_table.name,
            Env.UPLOAD_BUCKET: r.store.uploads.name,
            Env.PROCESSING_QUEUE_URL: r.queues.queue.url,
            Env.MAX_INLINE_UPLOAD_BYTES: str(s.max_inline_upload_bytes),
            Env.MAX_UPLOAD_BYTES: str(s.max_upload_bytes),
            Env.PRESIGN_EXPIRY_SECONDS: str(s.presign_expiry_seconds),
            Env.JOB_RETENTION_DAYS: str(s.job_retention_days),
            Env.IDEMPOTENCY_TTL_SECONDS: str(s.idempotency_ttl_seconds),
            **(r.quotas.environment() if r.quotas is not None else {}),
            Env.ANIMATION_POLICY: s.animation.policy,
            Env.ANIMATION_MAX_FRAMES: str(s.animation.max_frames),
        },
        statements=[
            # uploads/: inline images and the copies of validated presigned uploads, each
            # written once (If-None-Match: *). incoming/: written only through the
            # presigned URLs this role signs (S3 authorizes them as the signer).
            # DeleteObject: a refused presigned upload, an inline upload undone.
            statement("StoreImages", ["s3:DeleteObject", "s3:PutObject"], objects),
            # Incoming uploads are read to validate and copy them; a keyed retry or a
            # redelivered event reads the kept original's metadata (HeadObject, which IAM
            # authorizes as s3:GetObject).
            statement("ReadImages", ["s3:GetObject"], objects),
            statement(
                "CreateAndFailJobs",
                ["dynamodb:PutItem", "dynamodb:UpdateItem"],
                [r.store.table.arn],
            ),
            statement(
                "Idempotency",
                [
                    "dynamodb:DeleteItem",
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                [r.store.idempotency_table.arn],
            ),
            statement("Enqueue", ["sqs:SendMessage"], [r.queues.queue.arn]),
            # Per-user limits: one conditional count per upload.
            *(r.quotas.statements() if r.quotas is not None else []),
        ],
    )


def status(r: Resources) -> FunctionSpec:
    environment: dict[str, pulumi.Input[str | None]] = {Env.JOBS_TABLE: r.store.table.name}
    if r.edge is not None:
        environment[Env.CDN_BASE_URL] = r.edge.cdn_base_url
    statements = [statement("ReadJobs", ["dynamodb:GetItem"], [r.store.table.arn])]
    if r.cache is not None:
        environment.update(r.cache.environment)
        statements += r.cache.statements
    config = None
    if r.statements is not None:
        # GET /jobs/{job_id}/statement: the owner's statements and how to contest them.
        environment.update(r.statements.reader_environment())
        statements += r.statements.reader_statements()
        config = {"dsa": r.statements.args.config}
    return FunctionSpec(
        name=Function.STATUS,
        description="GET /jobs/{job_id}",
        environment=environment,
        statements=statements,
        config=config,
        vpc_config=r.cache.vpc_config if r.cache else None,
        extra_requirements=r.cache.extra_requirements if r.cache else (),
    )


# The dispatcher's variable naming each analyzer (lambdas/common/dispatch.py reads them).
ANALYZER_ENV = {
    Function.REKOGNITION_ANALYZER: Env.REKOGNITION_FUNCTION,
    Function.CUSTOM_ANALYZER: Env.CUSTOM_FUNCTION,
    Function.TEXT_ANALYZER: Env.TEXT_FUNCTION,
}


def dispatcher(r: Resources, analyzers: dict[Function, Any]) -> FunctionSpec:
    """`analyzers`: the analyzer LambdaFunctions it invokes, by logical name (the branches
    the stack has); each is invoked by `invoke_name` (its provisioned alias, if any)."""
    return FunctionSpec(
        name=Function.DISPATCHER,
        description="Claims queued jobs and fans out to the analyzers",
        environment={
            Env.JOBS_TABLE: r.store.table.name,
            **{ANALYZER_ENV[name]: fn.invoke_name for name, fn in analyzers.items()},
            **Plan.to_env(
                r.settings.analysis_order,
                r.settings.review.queue_warn,
                r.settings.review.qa_sample_rate,
                r.settings.function(Function.DISPATCHER).timeout,
            ),
            **r.reuse_environment(),
        },
        # custom-first: a re-claimed job's next step depends on the custom side's results.
        config=r.decision_config(),
        statements=[
            # Claims, and completes a job from a stored verdict: both conditional updates.
            statement("ClaimJobs", ["dynamodb:UpdateItem"], [r.store.table.arn]),
            *r.reuse_statements("LookUpVerdicts", ["dynamodb:BatchGetItem"]),
            # custom-first: a re-claimed job whose custom side already rejects is finalized
            # here (Rekognition skipped), and the finalizer stores the verdict.
            *(
                r.reuse_statements("StoreVerdicts", ["dynamodb:PutItem"])
                if r.settings.analysis_order == AnalysisOrder.CUSTOM_FIRST
                else []
            ),
            statement(
                "InvokeAnalyzers",
                ["lambda:InvokeFunction"],
                [fn.invoke_arn for fn in analyzers.values()],
            ),
            statement(
                "ConsumeQueue",
                [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                ],
                [r.queues.queue.arn],
            ),
        ],
    )


def stream_reader_statement(stream_arn: pulumi.Input[str]) -> dict[str, Any]:
    return statement(
        "ReadStream",
        [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ],
        [stream_arn],
    )


def notifier(r: Resources) -> FunctionSpec:
    environment: dict[str, pulumi.Input[str]] = {
        Env.NOTIFICATION_TOPIC_ARN: r.topic.arn,
        Env.UPLOAD_BUCKET: r.store.uploads.name,
    }
    statements = [
        stream_reader_statement(r.store.table.stream_arn),
        statement("Notify", ["sns:Publish"], [r.topic.arn]),
        statement("OnFailureDestination", ["sqs:SendMessage"], [r.queues.failure_queue.arn]),
    ]
    if r.edge is not None:
        environment[Env.CONTENT_BUCKET] = r.edge.content_bucket_name
        environment[Env.CONTENT_MAX_AGE_SECONDS] = str(r.settings.edge_auth.content_ttl_seconds)
        content_objects = pulumi.Output.from_input(r.edge.content_bucket_arn).apply(
            lambda a: f"{a}/content/*"
        )
        statements += [
            statement("ReadApproved", ["s3:GetObject"], [r.uploads_objects]),
            statement("PublishContent", ["s3:PutObject"], [content_objects]),
        ]
    config = None
    if r.statements is not None:
        # The one writer of statements of reasons: it sees every final decision.
        environment.update(r.statements.writer_environment())
        statements += r.statements.writer_statements()
        config = {"dsa": r.statements.args.config}
    return FunctionSpec(
        name=Function.NOTIFIER,
        description="Publishes one notification per job that became terminal",
        environment=environment,
        statements=statements,
        config=config,
    )


def sweeper(r: Resources) -> FunctionSpec:
    return FunctionSpec(
        name=Function.SWEEPER,
        description="Fails jobs whose analyzers gave up or that passed their deadline",
        environment={
            Env.JOBS_TABLE: r.store.table.name,
            Env.FAILURE_QUEUE_URL: r.queues.failure_queue.url,
            Env.JOB_DEADLINE_SECONDS: str(r.settings.job_deadline_seconds),
            Env.LEASE_TABLE: r.store.idempotency_table.name,
            Env.SWEEP_LEASE_SECONDS: str(r.settings.function(Function.SWEEPER).timeout),
        },
        statements=[
            statement(
                "FindOverdueAndMeasureReviews",
                ["dynamodb:Query"],
                [r.store.status_index_arn, r.store.review_index_arn],
            ),
            statement(
                "RunLease",
                ["dynamodb:DeleteItem", "dynamodb:PutItem"],
                [r.store.idempotency_table.arn],
            ),
            statement("FailJobs", ["dynamodb:UpdateItem"], [r.store.table.arn]),
            statement(
                "DrainFailures",
                ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                [r.queues.failure_queue.arn],
            ),
        ],
    )


def review(r: Resources) -> FunctionSpec:
    """The moderator API: read the queue, record a verdict, presign the original.

    No Scan: the queue is the review index (Query), a verdict is one GetItem of the
    job's owner (a moderator may not decide their own upload) and one conditional
    UpdateItem (plus, with verdict reuse, one PutItem of the stored verdict), and the
    image URLs are signed with this role, so it may read the originals and nothing else
    of the bucket.
    """
    s = r.settings
    return FunctionSpec(
        name=Function.REVIEW,
        description="Review queue, verdicts, claims, appeals, QA (moderators; appeals: owners)",
        environment={
            Env.JOBS_TABLE: r.store.table.name,
            Env.UPLOAD_BUCKET: r.store.uploads.name,
            Env.MODERATOR_GROUP: s.review.moderator_group,
            Env.REVIEW_IMAGE_URL_SECONDS: str(s.review.image_url_seconds),
            **r.reuse_environment(),
            Env.REVIEW_CLAIM_MINUTES: str(s.review.claim_minutes),
            Env.REVIEW_QA_SAMPLE_RATE: str(s.review.qa_sample_rate),
            Env.APPEAL_WINDOW_DAYS: str(s.appeals.window_days),
            Env.AUDIT_TABLE: r.store.audit_table.name,
        },
        statements=[
            statement("ReadQueue", ["dynamodb:Query"], [r.store.review_index_arn]),
            # Claims from the appeal and QA queues (their sparse indexes).
            statement(
                "ReadAppealAndQaQueues",
                ["dynamodb:Query"],
                [r.store.appeal_index_arn, r.store.qa_index_arn],
            ),
            statement("RecordVerdicts", ["dynamodb:UpdateItem"], [r.store.table.arn]),
            # Before a verdict: who uploaded the job (no one decides their own upload).
            statement("ReadJobOwner", ["dynamodb:GetItem"], [r.store.table.arn]),
            # A moderator's verdict becomes the stored verdict for the image's bytes.
            *r.reuse_statements("StoreModeratorVerdicts", ["dynamodb:PutItem"]),
            statement("PresignOriginals", ["s3:GetObject"], [r.uploads_objects]),
            # Each verdict goes to the audit log (one new entry; never read or changed).
            statement("AuditVerdicts", ["dynamodb:PutItem"], [r.store.audit_table.arn]),
        ],
    )


def notices(r: Resources) -> FunctionSpec:
    """`POST /jobs/{job_id}/notices` (DSA Article 16): count the notifier's notice, record
    it on the job and queue the job for review (one conditional UpdateItem on the job,
    two when a reject had already restricted it)."""
    assert r.statements is not None
    return FunctionSpec(
        name=Function.NOTICES,
        description="POST /jobs/{job_id}/notices (DSA Article 16 notices)",
        environment={Env.JOBS_TABLE: r.store.table.name, **r.statements.notice_environment()},
        statements=[
            statement("RecordNotices", ["dynamodb:UpdateItem"], [r.store.table.arn]),
            *r.statements.notice_statements(),
        ],
    )


def dsa_submitter(r: Resources) -> FunctionSpec:
    """Statements of reasons to the Transparency Database, once per puid (`dsa.submit`)."""
    assert r.statements is not None
    return FunctionSpec(
        name=Function.DSA_SUBMITTER,
        description="Submits statements of reasons to the DSA Transparency Database",
        environment=r.statements.submitter_environment(),
        statements=r.statements.submitter_statements(),
    )
