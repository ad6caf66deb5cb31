"""Cached reads (st.cache_data, short TTL) over the data layer, one per page need.

Each loader takes the target's key (hashed: it separates stacks) and the target itself
as `_target` (not hashed), and returns (value, fetched_at) so pages can say how fresh
what they show is. Exceptions are not cached: the next rerun tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from common.contract import WorkQueue
from dashboard.data import (
    alarms,
    analysis,
    analytics,
    claims,
    dlq,
    functions,
    jobs,
    local_info,
    metrics,
    queues,
    quotas,
    reuse,
    review,
    status_cache,
    throughput,
    trace,
)
from dashboard.data.target import Target, load_lambda_config
from dashboard.ui import CACHE_TTL
from lambdas.common.contract import Output

# The heavier reads (the status index, REPORT lines) refresh in the background: once a
# page has loaded, a refresh shows the previous figures at once and swaps in new ones.
HEAVY = {"ttl": 3 * CACHE_TTL, "refresh_mode": "background"}


def _now() -> datetime:
    return datetime.now(UTC)


def _windowed(
    read: Callable[..., Any], window_s: float, target: Target, *args: Any, ahead: bool = True
) -> tuple[Any, datetime]:
    """`read(cloudwatch, *args, start, end, period)` over the last `window_s` seconds.

    The one shape every metrics loader shares: the window ends now (a minute ahead when
    `ahead`, so the newest datapoint is in), its period keeps each series short.
    """
    now = _now()
    window = timedelta(seconds=window_s)
    end = now + timedelta(minutes=1) if ahead else now
    value = read(
        target.client("cloudwatch"), *args, now - window, end, metrics.choose_period(window)
    )
    return value, _now()


@st.cache_data(**HEAVY, show_spinner="Reading jobs…")
def jobs_overview(key: str, window_s: float, deadline_s: int, limit: int, _target: Target):
    t = _target
    value = jobs.jobs_overview(
        t.client("dynamodb"),
        t.outputs[Output.JOBS_TABLE],
        _now(),
        timedelta(seconds=window_s),
        deadline_s,
        limit,
        index=t.outputs.get(Output.STATUS_INDEX) or jobs.STATUS_INDEX,
    )
    return value, _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading job metrics…")
def job_metrics(key: str, window_s: float, _target: Target):
    return _windowed(throughput.job_metrics, window_s, _target)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading the verdict reuse metrics…")
def reuse_figures(key: str, window_s: float, _target: Target):
    return _windowed(reuse.reuse_figures, window_s, _target)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading Lambda metrics…")
def lambda_series(key: str, window_s: float, _target: Target):
    fns = _target.outputs.get(Output.FUNCTIONS) or {}
    return _windowed(functions.metric_series, window_s, _target, fns)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading queues…")
def queue_snapshot(key: str, _target: Target):
    return queues.snapshot(
        _target.client("sqs"), _target.client("cloudwatch"), _target.queues(), _now()
    ), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading queue history…")
def queue_history(key: str, window_s: float, _target: Target):
    return _windowed(queues.history, window_s, _target, _target.queues())


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading alarms…")
def alarm_states(key: str, _target: Target):
    names = list(_target.outputs.get(Output.ALARM_NAMES) or [])
    return alarms.alarms(_target.client("cloudwatch"), names), _now()


@st.cache_data(**HEAVY, show_spinner="Reading Lambda metrics and REPORT lines…")
def function_stats(key: str, window_s: float, report_limit: int, _target: Target):
    t = _target
    missing = load_lambda_config(t)
    now = _now()
    window = timedelta(seconds=window_s)
    stats = functions.function_stats(
        t.client("cloudwatch"),
        t.client("logs"),
        t.outputs.get(Output.FUNCTIONS) or {},
        t.outputs.get(Output.LOG_GROUPS) or {},
        t.function_settings(),
        now - window,
        now + timedelta(minutes=1),
        metrics.choose_period(window),
        report_limit,
    )
    return (stats, missing), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading the status cache metrics…")
def cache_figures(key: str, window_s: float, _target: Target):
    return _windowed(status_cache.cache_figures, window_s, _target)


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading upload quotas…")
def near_quota(key: str, limit: int, _target: Target):
    t = _target
    found = quotas.usage_target(t.outputs)
    if found is None:
        return None, _now()
    table, per_day = found
    return quotas.near_quota(t.client("dynamodb"), table, per_day, _now(), limit), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading queue attributes…")
def queue_attributes(key: str, url: str, _target: Target):
    return queues.attributes(_target.client("sqs"), url), _now()


@st.cache_data(**HEAVY, show_spinner="Reading recent jobs…")
def recent_jobs(key: str, statuses: tuple[str, ...], limit: int, _target: Target):
    t = _target
    return jobs.recent(
        t.client("dynamodb"),
        t.outputs[Output.JOBS_TABLE],
        statuses,
        limit,
        index=t.outputs.get(Output.STATUS_INDEX) or jobs.STATUS_INDEX,
    ), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Tracing the job across log groups…")
def job_trace(key: str, job_id: str, _target: Target):
    t = _target
    extra = [t.outputs[Output.API_LOG_GROUP]] if t.outputs.get(Output.API_LOG_GROUP) else []
    return trace.job_trace(
        t.client("logs"),
        t.client("dynamodb"),
        t.outputs[Output.JOBS_TABLE],
        t.outputs.get(Output.LOG_GROUPS) or {},
        job_id,
        _now(),
        extra_groups=extra,
    ), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading model inference metrics…")
def model_inference(key: str, window_s: float, _target: Target):
    return _windowed(functions.model_inference, window_s, _target, ahead=False)


@st.cache_data(ttl=300, show_spinner="Reading the image…")
def annotated_image(key: str, image_key: str, job: dict, _target: Target) -> bytes:
    """The job's original from the upload bucket with its face boxes and OCR lines drawn."""
    data = analysis.original_image(
        _target.client("s3"), _target.outputs[Output.UPLOAD_BUCKET], image_key
    )
    return analysis.annotate(data, analysis.analysis_view(job))


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading the analytics report…")
def analytics_report(key: str, day: str | None, _target: Target):
    return analytics.latest_report(_target.client("s3"), _target.outputs, day), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Looking up jobs…")
def dlq_jobs(key: str, job_ids: tuple[str, ...], _target: Target):
    t = _target
    return jobs.get_jobs(t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], job_ids), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def local_runtime(key: str, endpoint: str):
    return local_info.runtime_status(endpoint), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading the review queue…")
def review_queue(key: str, limit: int, identities: tuple[str, ...], _target: Target):
    t = _target
    return review.read_queue(
        t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], _now(), limit, identities
    ), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def review_stats(key: str, _target: Target):
    t = _target
    return review.stats(t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], _now()), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading recent verdicts…")
def recent_verdicts(key: str, limit: int, _target: Target):
    t = _target
    return review.recent_verdicts(t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], limit), _now()


@st.cache_data(ttl=300, max_entries=32, show_spinner="Reading the image…")
def review_image(key: str, image_key: str, _target: Target):
    """Originals never change under a key: cached for minutes, a few at a time."""
    t = _target
    return review.image_bytes(t.client("s3"), t.outputs[Output.UPLOAD_BUCKET], image_key), _now()


@st.cache_data(ttl=3600, show_spinner=False)
def operator(key: str, _target: Target):
    """Who the dashboard acts as (recorded as the reviewer of its verdicts)."""
    t = _target
    return review.operator(None if t.is_local else t.client("sts"), t.is_local), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def claim_timings(key: str, queue: str, _target: Target):
    """Time to claim and to decide over the queue's most recently decided items."""
    t = _target
    decided = claims.decided_items(
        t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], WorkQueue(queue), 200
    )
    return claims.timings(decided, WorkQueue(queue)), _now()


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading the queue…")
def work_queue(key: str, queue: str, limit: int, _target: Target):
    """The pending items of the appeal or QA queue, oldest first, whoever holds them."""
    t = _target
    return claims.pending(
        t.client("dynamodb"), t.outputs[Output.JOBS_TABLE], WorkQueue(queue), _now(), limit
    ), _now()


def forget_review_reads() -> None:
    """After a verdict, claim or release: the next draw reads the queues, their figures and
    the verdicts again."""
    for loader in (review_queue, review_stats, recent_verdicts, claim_timings, work_queue):
        loader.clear()


def peek_messages(target: Target, url: str, max_messages: int, visibility: int):
    """Not cached: every look at a queue is a deliberate receive."""
    result = dlq.peek(target.client("sqs"), url, max_messages, visibility)
    messages = dlq.with_jobs(
        result.messages, target.client("dynamodb"), target.outputs[Output.JOBS_TABLE]
    )
    return result, messages


@st.cache_data(ttl=CACHE_TTL, show_spinner="Reading the audit log…")
def audit_log(key: str, days: int, limit: int, _target: Target):
    from dashboard.data import audit

    t = _target
    table = audit.table_of(t.outputs)
    if table is None:
        return None, _now()
    return audit.recent(t.client("dynamodb"), table, _now(), days, limit), _now()


def actor(tgt: Target) -> str:
    """Who a console action is recorded as (the audit log, a bank entry's author): the
    signed-in identity, or, on a local console, the machine's AWS operator."""
    from dashboard import console, ui

    who = console.signed_in()
    if who is not None:
        return who.user
    return ui.load(operator, ui.key(), tgt, what="finding out who you are") or "unknown operator"
