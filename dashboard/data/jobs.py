"""Jobs from the jobs table, read through the status GSI (never a table scan).

The GSI `status-created_at-index` (hash `status`, range `created_at`, INCLUDE user_id,
decision, completed_at) answers every overview question with one Query per
status:
- `pending` / `analyzing`: oldest first, so jobs past the deadline ("stuck") are never
  cut off by the read limit;
- `complete` / `failed`: newest first inside the chosen window, up to a limit per
  status. When the limit is reached the frame says so (`truncated`), and counts and
  charts are labelled as covering the most recent N jobs; exact throughput comes from
  the CloudWatch metrics the handlers emit.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, overload

import pandas as pd
from boto3.dynamodb.types import TypeDeserializer

from lambdas.common.contract import STATUS_INDEX, TERMINAL_STATUSES, Decision, JobAttr, Status

STATUSES = tuple(Status)
ACTIVE = (Status.PENDING, Status.ANALYZING)
TERMINAL = TERMINAL_STATUSES
DECISIONS = tuple(Decision)
INDEX_FIELDS = (
    JobAttr.JOB_ID,
    JobAttr.STATUS,
    JobAttr.CREATED_AT,
    JobAttr.COMPLETED_AT,
    JobAttr.DECISION,
    JobAttr.USER_ID,
)
# What the dead-letter view reads of each job a message names.
TRACE_FIELDS = (*INDEX_FIELDS, JobAttr.REASONS, JobAttr.ATTEMPTS)
JOB_COLUMNS = [*INDEX_FIELDS, "latency_s"]

_de = TypeDeserializer()


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [plain(v) for v in value]
    return value


@overload
def deserialize(item: dict[str, Any]) -> dict[str, Any]: ...
@overload
def deserialize(item: None) -> None: ...
def deserialize(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    doc: dict[str, Any] = plain({k: _de.deserialize(v) for k, v in item.items()})
    return doc


def iso(dt: datetime) -> str:
    """The jobs table's timestamp format: ISO-8601 UTC, milliseconds, `Z`."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def query_status(
    ddb: Any,
    table: str,
    status: str,
    *,
    since: datetime | None = None,
    before: datetime | None = None,
    newest_first: bool = True,
    limit: int = 1000,
    index: str = STATUS_INDEX,
) -> tuple[list[dict[str, Any]], bool]:
    """Jobs with `status` (created in [since, before)), up to `limit`; (items, truncated)."""
    names = {"#s": JobAttr.STATUS}
    values: dict[str, Any] = {":s": {"S": status}}
    condition = "#s = :s"
    if since is not None or before is not None:
        names["#c"] = JobAttr.CREATED_AT
    if since is not None and before is not None:
        condition += " AND #c BETWEEN :lo AND :hi"
        values[":lo"], values[":hi"] = {"S": iso(since)}, {"S": iso(before)}
    elif since is not None:
        condition += " AND #c >= :lo"
        values[":lo"] = {"S": iso(since)}
    elif before is not None:
        condition += " AND #c < :hi"
        values[":hi"] = {"S": iso(before)}
    # Every projected name through a placeholder: `status` is a reserved word.
    projection = ", ".join(f"#p{i}" for i in range(len(INDEX_FIELDS)))
    names.update({f"#p{i}": f for i, f in enumerate(INDEX_FIELDS)})
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ProjectionExpression": projection,
        "ScanIndexForward": not newest_first,
        "Limit": min(limit, 1000),
    }
    items: list[dict[str, Any]] = []
    while True:
        page = ddb.query(**kwargs)
        items.extend(deserialize(raw) for raw in page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if len(items) >= limit:
            return items[:limit], bool(last) or len(items) > limit
        if not last:
            return items, False
        kwargs["ExclusiveStartKey"] = last
        kwargs["Limit"] = min(limit - len(items), 1000)


def frame(items: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Jobs as a DataFrame with parsed UTC timestamps and `latency_s` (completed - created)."""
    df = pd.DataFrame(list(items), columns=list(INDEX_FIELDS))
    for col in ("created_at", "completed_at"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601", errors="coerce")
    df["latency_s"] = (df[JobAttr.COMPLETED_AT] - df[JobAttr.CREATED_AT]).dt.total_seconds()
    return df


@dataclass
class JobsOverview:
    now: datetime
    window_start: datetime
    deadline_seconds: int
    limit_per_status: int
    jobs: pd.DataFrame  # every job read: terminal ones in the window, all active ones
    truncated: dict[str, bool] = field(default_factory=dict)

    @property
    def active(self) -> pd.DataFrame:
        return self.jobs[self.jobs[JobAttr.STATUS].isin(ACTIVE)]

    @property
    def in_window(self) -> pd.DataFrame:
        return self.jobs[self.jobs[JobAttr.CREATED_AT] >= pd.Timestamp(self.window_start)]

    @property
    def stuck(self) -> pd.DataFrame:
        cutoff = pd.Timestamp(self.now - timedelta(seconds=self.deadline_seconds))
        active = self.active
        stuck = active[active[JobAttr.CREATED_AT] < cutoff].copy()
        stuck["age_s"] = (pd.Timestamp(self.now) - stuck[JobAttr.CREATED_AT]).dt.total_seconds()
        return stuck.sort_values("created_at")

    def counts(self) -> pd.DataFrame:
        """Jobs per status: active ones all, terminal ones created in the window."""
        rows = []
        for status in STATUSES:
            source = self.active if status in ACTIVE else self.in_window
            n = int((source[JobAttr.STATUS] == status).sum())
            rows.append(
                {JobAttr.STATUS: status, "jobs": n, "at_least": self.truncated.get(status, False)}
            )
        return pd.DataFrame(rows)

    def decisions(self) -> pd.DataFrame:
        done = self.in_window[self.in_window[JobAttr.STATUS] == "complete"]
        counts = done[JobAttr.DECISION].value_counts()
        return pd.DataFrame(
            {JobAttr.DECISION: list(DECISIONS), "jobs": [int(counts.get(d, 0)) for d in DECISIONS]}
        )

    def latency(self, status: str = "complete") -> dict[str, float]:
        return latency_percentiles(self.in_window[self.in_window[JobAttr.STATUS] == status])


def jobs_overview(
    ddb: Any,
    table: str,
    now: datetime,
    window: timedelta,
    deadline_seconds: int,
    limit_per_status: int = 1000,
    index: str = STATUS_INDEX,
    parallel: bool = True,
) -> JobsOverview:
    """One Query per status (run concurrently): the basis of the Overview page."""
    start = now - window

    def read(status: str) -> tuple[str, list[dict[str, Any]], bool]:
        if status in ACTIVE:
            items, more = query_status(
                ddb, table, status, newest_first=False, limit=limit_per_status, index=index
            )
        else:
            items, more = query_status(
                ddb,
                table,
                status,
                since=start,
                before=now,
                newest_first=True,
                limit=limit_per_status,
                index=index,
            )
        return status, items, more

    if parallel:
        with ThreadPoolExecutor(max_workers=len(STATUSES)) as pool:
            results = list(pool.map(read, STATUSES))
    else:
        results = [read(s) for s in STATUSES]
    items = [item for _, batch, _ in results for item in batch]
    return JobsOverview(
        now=now,
        window_start=start,
        deadline_seconds=deadline_seconds,
        limit_per_status=limit_per_status,
        jobs=frame(items),
        truncated={status: more for status, _, more in results},
    )


def latency_percentiles(jobs: pd.DataFrame) -> dict[str, float]:
    values = jobs["latency_s"].dropna()
    if values.empty:
        return {}
    q = values.quantile([0.5, 0.95, 0.99])
    return {
        "p50": float(q[0.5]),
        "p95": float(q[0.95]),
        "p99": float(q[0.99]),
        "max": float(values.max()),
        "n": int(values.size),
    }


def bucket_for(window: timedelta) -> str:
    """A pandas frequency giving 30-120 buckets over the window."""
    minutes = window.total_seconds() / 60
    for limit, freq in ((90, "1min"), (360, "5min"), (1440, "15min"), (4320, "1h"), (20160, "4h")):
        if minutes <= limit:
            return freq
    return "1D"


def over_time(jobs: pd.DataFrame, by: str, freq: str, at: str = "created_at") -> pd.DataFrame:
    """Job counts per time bucket of `at` and value of `by` (status or decision), long form."""
    df = jobs.dropna(subset=[at])
    if by == "decision":
        df = df[df[JobAttr.STATUS] == "complete"]
    if df.empty:
        return pd.DataFrame(columns=["time", by, "jobs"])
    grouped = (
        df.assign(time=df[at].dt.floor(freq))
        .groupby(["time", by], dropna=False)
        .size()
        .rename("jobs")
        .reset_index()
    )
    grouped[by] = grouped[by].fillna("(none)")
    return grouped


def throughput(jobs: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Terminal jobs per minute, by the bucket of `completed_at`."""
    done = jobs.dropna(subset=["completed_at"])
    if done.empty:
        return pd.DataFrame(columns=["time", "jobs", "jobs_per_min"])
    out = (
        done.assign(time=done[JobAttr.COMPLETED_AT].dt.floor(freq))
        .groupby("time")
        .size()
        .rename("jobs")
        .reset_index()
    )
    out["jobs_per_min"] = out["jobs"] / (pd.Timedelta(freq).total_seconds() / 60)
    return out


# --- single jobs ---------------------------------------------------------------------------


def get_job(ddb: Any, table: str, job_id: str) -> dict[str, Any] | None:
    out = ddb.get_item(TableName=table, Key={JobAttr.JOB_ID: {"S": job_id}}, ConsistentRead=True)
    item: dict[str, Any] | None = out.get("Item")
    return deserialize(item)


def get_jobs(ddb: Any, table: str, job_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Many jobs by id (BatchGetItem, 100 per call, retrying unprocessed keys)."""
    ids = list(dict.fromkeys(j for j in job_ids if j))
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 100):
        request = {
            table: {
                "Keys": [{JobAttr.JOB_ID: {"S": j}} for j in ids[i : i + 100]],
                "ProjectionExpression": ", ".join(f"#p{n}" for n in range(len(TRACE_FIELDS))),
                "ExpressionAttributeNames": {f"#p{n}": f for n, f in enumerate(TRACE_FIELDS)},
            }
        }
        for _ in range(5):
            out = ddb.batch_get_item(RequestItems=request)
            for raw in out.get("Responses", {}).get(table, []):
                job = deserialize(raw)
                found[job[JobAttr.JOB_ID]] = job
            request = out.get("UnprocessedKeys") or {}
            if not request:
                break
    return found


def recent(
    ddb: Any,
    table: str,
    statuses: Iterable[str],
    limit: int = 50,
    index: str = STATUS_INDEX,
    parallel: bool = True,
) -> pd.DataFrame:
    """The newest `limit` jobs of each status, newest first (for pickers)."""
    statuses = list(statuses)

    def read(status: str) -> list[dict[str, Any]]:
        return query_status(ddb, table, status, newest_first=True, limit=limit, index=index)[0]

    if parallel and len(statuses) > 1:
        with ThreadPoolExecutor(max_workers=len(statuses)) as pool:
            batches = list(pool.map(read, statuses))
    else:
        batches = [read(s) for s in statuses]
    df = frame([item for batch in batches for item in batch])
    return df.sort_values("created_at", ascending=False, ignore_index=True)
