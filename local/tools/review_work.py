"""Moderators at work on the local cloud: claims, verdicts, appeals and QA through the API.

`python -m local demo` runs this after its load so the dashboard's Calibration page has
data: moderators claim and decide a few queued jobs, a few uploaders appeal their
rejected images and a moderator decides the appeals (the first overturned), and QA
moderators decide the sampled items blind. Every step is an API request with the
actors' own tokens, exactly as in the cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from lambdas.common import jobs as job_records
from lambdas.common.contract import STATUS_INDEX, JobAttr, Output, Status
from local.client import LocalCloudClient

MODERATORS = ("moderator-1", "moderator-2", "moderator-3")
GROUP = "moderators"


@dataclass
class Work:
    verdicts: int = 0
    appeals: int = 0
    appeals_decided: int = 0
    qa_decided: int = 0
    refused: list[str] = field(default_factory=list)


class _Api:
    def __init__(self, cloud: LocalCloudClient) -> None:
        self.cloud = cloud
        self.base = cloud.api_url.rstrip("/")
        self._tokens: dict[str, str] = {}

    def token(self, user: str, moderator: bool) -> str:
        if user not in self._tokens:
            self._tokens[user] = self.cloud.token(user, groups=[GROUP] if moderator else [])
        return self._tokens[user]

    def post(self, user: str, path: str, body: dict[str, Any], moderator: bool = True):
        resp = requests.post(
            f"{self.base}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token(user, moderator)}"},
            timeout=30,
        )
        return resp.status_code, resp.json()


def _rejected_by_rules(cloud: LocalCloudClient, limit: int) -> list[dict[str, Any]]:
    """Complete jobs the rules rejected or warned (no moderator involved), newest first."""
    out = cloud.client("dynamodb").query(
        TableName=cloud.outputs[Output.JOBS_TABLE],
        IndexName=STATUS_INDEX,
        KeyConditionExpression="#s = :c",
        ExpressionAttributeNames={"#s": JobAttr.STATUS},
        ExpressionAttributeValues={":c": {"S": Status.COMPLETE}},
        ScanIndexForward=False,
    )
    found = [job_records.deserialize(i) or {} for i in out.get("Items", [])]
    return [j for j in found if j.get(JobAttr.DECISION) in ("reject", "warn")][:limit]


def _blind_call(item: dict[str, Any]) -> str:
    """A QA moderator's call from what the blind item shows: a high score is a reject."""
    top = max((v / 100 if v > 1 else v for v in (item.get("scores") or {}).values()), default=0)
    return "reject" if top >= 0.8 else "approve"


def run(cloud: LocalCloudClient, verdicts: int = 6, appeals: int = 3) -> Work:
    api = _Api(cloud)
    work = Work()

    def ok(status: int, body: dict[str, Any], what: str) -> bool:
        if status >= 300:
            work.refused.append(f"{what}: {status} {body.get('error')}")
            return False
        return True

    # Verdicts on claimed items, moderators taking turns.
    for i in range(verdicts):
        who = MODERATORS[i % 2]
        status, body = api.post(who, "/reviews/claim", {"queue": "review"})
        if not ok(status, body, "claim review") or not body["items"]:
            break
        job_id = body["items"][0][JobAttr.JOB_ID]
        decision = "approve" if i % 3 else "reject"
        status, body = api.post(who, f"/jobs/{job_id}/review", {JobAttr.DECISION: decision})
        work.verdicts += ok(status, body, "verdict")

    # Uploaders appeal rejected images; a moderator decides, the first one overturned.
    for job in _rejected_by_rules(cloud, appeals):
        status, body = api.post(
            str(job[JobAttr.USER_ID]),
            f"/jobs/{job[JobAttr.JOB_ID]}/appeal",
            {"message": "This image is allowed here: please look again."},
            moderator=False,
        )
        work.appeals += ok(status, body, "appeal")
    while True:
        status, body = api.post(MODERATORS[2], "/reviews/claim", {"queue": "appeal"})
        if not ok(status, body, "claim appeal") or not body["items"]:
            break
        job_id = body["items"][0][JobAttr.JOB_ID]
        outcome = "overturn" if work.appeals_decided == 0 else "uphold"
        status, body = api.post(
            MODERATORS[2], f"/jobs/{job_id}/appeal/decision", {"outcome": outcome}
        )
        if not ok(status, body, "appeal decision"):
            break
        work.appeals_decided += 1

    # QA: each moderator decides blind what they may (never their own verdicts).
    for who in MODERATORS:
        while True:
            status, body = api.post(who, "/reviews/claim", {"queue": "qa", "count": 5})
            if not ok(status, body, "claim qa") or not body["items"]:
                break
            for item in body["items"]:
                status, out = api.post(
                    who, f"/jobs/{item[JobAttr.JOB_ID]}/qa", {JobAttr.DECISION: _blind_call(item)}
                )
                work.qa_decided += ok(status, out, "qa decision")
    return work
