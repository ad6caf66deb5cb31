"""Small helpers shared by the handler tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from common import jobs
from tests.support.inprocess import api_event


class RecordingLambda:
    """A Lambda client stand-in that records async invokes (the dispatcher's only call)."""

    def __init__(self, fail_on: set[str] | None = None) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.fail_on = fail_on or set()

    def invoke(self, FunctionName, InvocationType, Payload):  # noqa: N803 - boto3's names
        assert InvocationType == "Event"
        if FunctionName in self.fail_on:
            raise RuntimeError(f"invoke {FunctionName} failed")
        self.calls.append((FunctionName, json.loads(Payload)))
        return {"StatusCode": 202}


def accept(stack, data: bytes, content_type: str = "image/png", user: str = "user-1") -> str:
    resp = stack.invoke(
        "upload",
        api_event("POST", "/jobs", user=user, body=data, headers={"content-type": content_type}),
    )
    assert resp["statusCode"] == 202, resp
    return json.loads(resp["body"])["job_id"]


def job(stack, job_id: str) -> dict:
    return jobs.get_job(stack.client("dynamodb"), stack.exports["jobs_table"], job_id, True)


def put_job(stack, job_id: str, status: str, created: datetime, **extra) -> None:
    item = jobs.new_job(
        job_id=job_id,
        user_id="u",
        image_key=f"uploads/{job_id}/original",
        content_type="image/png",
        size_bytes=10,
        now=created,
        retention_days=1,
    )
    item.update(status=status, **extra)
    jobs.create_job(stack.client("dynamodb"), stack.exports["jobs_table"], item)


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
