"""Notices (DSA Article 16) and statements of reasons beside a job, for the console.

Reads the job record already loaded (its `notices`) and the job's statements (one Query of
the statements table's job-id index, the status function's own read); no writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from lambdas.common import statements
from lambdas.common.contract import JobAttr, NoticeField, StatementField

NOTICE_COLUMNS = ["at", "category", "notifier", "explanation", "notice_id"]
STATEMENT_COLUMNS = ["puid", "source", "created_at", "category", "visibility", "automated"]


def notices_of(job: Mapping[str, Any]) -> pd.DataFrame:
    """The job's notices, oldest first (moderators and operators see who sent each)."""
    rows = [
        {c: n.get(c) for c in NOTICE_COLUMNS}
        for n in job.get(NoticeField.NOTICES) or []
        if isinstance(n, Mapping)
    ]
    return pd.DataFrame(rows, columns=NOTICE_COLUMNS).sort_values("at", ignore_index=True)


def statements_of(ddb: Any, table: str, job_id: str) -> pd.DataFrame:
    """The job's statements of reasons, as stored (and submitted)."""
    rows = []
    for item in statements.for_job(ddb, table, job_id):
        s = item.get(StatementField.STATEMENT) or {}
        rows.append(
            {
                "puid": item.get(StatementField.PUID),
                "source": item.get(StatementField.SOURCE),
                JobAttr.CREATED_AT: item.get(StatementField.CREATED_AT),
                "category": s.get("category"),
                "visibility": ", ".join(s.get("decision_visibility") or []),
                "automated": s.get("automated_decision"),
            }
        )
    return pd.DataFrame(rows, columns=STATEMENT_COLUMNS)
