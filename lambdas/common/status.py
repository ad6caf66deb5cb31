"""GET /jobs/{job_id}: the caller's own job, or 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from common import disclosure
from common.contract import Decision, JobAttr, Status


def valid_job_id(job_id: str | None) -> bool:
    try:
        return job_id is not None and str(uuid.UUID(job_id)) == job_id.lower()
    except ValueError:
        return False


def job_for_caller(
    load: Callable[[str], dict[str, Any] | None], job_id: str | None, user_id: str
) -> dict[str, Any] | None:
    """The owner's view of the job (`disclosure.owner_view`) if it exists and belongs to
    `user_id`.

    Another user's job answers exactly like a missing one, so ids cannot be probed. The
    view is cut down again after every read, so whatever `load` returns (the record, or
    a cached entry of any earlier shape) the owner sees no more than the owner's view.
    """
    if job_id is None or not valid_job_id(job_id):
        return None
    job = load(job_id)
    if job is None or job.get(JobAttr.USER_ID) != user_id:
        return None
    return disclosure.owner_view(job)


def with_content_url(view: dict[str, Any], cdn_base: str | None) -> dict[str, Any]:
    if (
        cdn_base
        and view.get(JobAttr.STATUS) == Status.COMPLETE
        and view.get(JobAttr.DECISION) == Decision.APPROVE
    ):
        return {**view, "content_url": f"{cdn_base.rstrip('/')}/content/{view[JobAttr.JOB_ID]}"}
    return view
