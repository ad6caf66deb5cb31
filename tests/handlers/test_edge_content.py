"""Approved images end to end with edge auth on, on in-process moto.

Upload -> analysis -> decision -> the notifier copies approved images to the content
bucket -> the status API shows the CDN URL -> the local CDN runs the built Lambda@Edge
function in a real execution environment (worker process) and serves the object only
to a signed-in user. Rejected images are never copied.
"""

from __future__ import annotations

import http.client
import json
import ssl
import uuid
from urllib.parse import urlsplit

import pytest
from moto import mock_aws

from common import analysis, jobs, notify, review
from common.decision import Rules
from common.timeutil import utcnow
from local.cloud import free_port
from local.mocks import LocalMocks
from local.moto_patches.atomic import make_dynamodb_atomic
from local.registry import Registry
from local.runtime.lambda_service import FunctionPool, base_environment
from local.runtime.telemetry import Telemetry
from local.tools import fixtures
from local.twins import edge as edge_twins
from local.twins.cdn import LocalCdn, self_signed_certificate
from local.twins.idp import LocalIdentityProvider
from tests.support.config import BASE_CONFIG
from tests.support.helpers import accept
from tests.support.inprocess import InProcessStack, api_event, stream_records

RULES = Rules(min_confidence=50, reject_threshold=90, unsafe_categories=("Explicit",))
EXPLICIT = {
    "labels": [{"name": "Explicit", "confidence": 97.0, "parent": "", "top_level": "Explicit"}]
}
# Below the reject threshold and uncorroborated: the rules send it to review.
MODERATE = {
    "labels": [{"name": "Explicit", "confidence": 70.0, "parent": "", "top_level": "Explicit"}]
}


class EdgeStack:
    def __init__(self, tmp_path) -> None:
        from local import program

        make_dynamodb_atomic()
        self.port = free_port()
        self.idp = LocalIdentityProvider(tmp_path / "idp.pem", "http://127.0.0.1:1/idp")
        config = edge_twins.local_settings(
            {**BASE_CONFIG, "edgeAuthEnabled": True}, self.idp, tmp_path
        )
        registry = Registry()
        self.stack = InProcessStack(registry=registry, exports={})
        mocks = LocalMocks(
            self.stack.client,
            registry,
            extra_handlers=edge_twins.handlers(
                registry, "us-east-1", cdn_host=f"127.0.0.1:{self.port}"
            ),
        )
        self.stack.exports = program.run(mocks, config, "test")
        self.idp.act_as(self.stack.exports["user_pool_issuer"])
        self.registry = registry
        self.spec = registry.extras["cdn"]
        edge_fn = registry.function_by_ref(self.spec["viewer_request_function"])
        edge_fn.log_group = f"/aws/lambda/us-east-1.{edge_fn.name}"
        self.edge_fn = edge_fn
        self.telemetry = Telemetry(self.stack.client)
        self.pool = FunctionPool(
            edge_fn, base_environment("http://127.0.0.1:9", "us-east-1"), self.telemetry, 1, 300
        )
        cert, key = self_signed_certificate(tmp_path)
        self.cdn = LocalCdn(
            self.spec,
            lambda ev: self.pool.invoke(ev),
            self.stack.client("s3"),
            self.port,
            cert,
            key,
        )
        self.context = ssl.create_default_context(cafile=str(cert))
        self.cdn.start()

    def close(self) -> None:
        self.cdn.stop()
        self.pool.shutdown()

    def finish(self, job_id: str, rekognition: dict) -> dict:
        ddb, table = self.stack.client("dynamodb"), self.stack.exports["jobs_table"]
        jobs.claim_for_analysis(ddb, table, job_id, utcnow(), 30)
        analysis.complete_branch(ddb, table, job_id, "custom", {"flags": []}, RULES, utcnow)
        analysis.complete_branch(ddb, table, job_id, "rekognition", rekognition, RULES, utcnow)
        result = self.stack.invoke("notifier", {"Records": stream_records(self.stack)})
        assert result == {"batchItemFailures": []}
        return jobs.get_job(ddb, table, job_id, True)

    def status(self, job_id: str, user: str = "alice") -> dict:
        resp = self.stack.invoke(
            "status", api_event("GET", f"/jobs/{job_id}", user=user, path_params={"job_id": job_id})
        )
        assert resp["statusCode"] == 200, resp
        return json.loads(resp["body"])

    def get(self, url: str, headers: dict | None = None, method: str = "GET"):
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        kwargs = {"context": self.context} if parts.scheme == "https" else {}
        conn = cls(parts.hostname, parts.port, timeout=30, **kwargs)
        try:
            conn.request(method, parts.path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def content_keys(self) -> list[str]:
        out = self.stack.client("s3").list_objects_v2(Bucket=self.stack.exports["content_bucket"])
        return [o["Key"] for o in out.get("Contents", [])]


@pytest.fixture
def edge(tmp_path):
    with mock_aws():
        stack = EdgeStack(tmp_path)
        try:
            yield stack
        finally:
            stack.close()


def test_an_approved_image_reaches_signed_in_users_through_the_cdn(edge):
    image = fixtures.png(seed=11)
    job_id = accept(edge.stack, image, user="alice")
    final = edge.finish(job_id, {"labels": []})
    assert (final["status"], final["decision"]) == ("complete", "approve")

    assert edge.content_keys() == [f"content/{job_id}"]
    obj = edge.stack.client("s3").get_object(
        Bucket=edge.stack.exports["content_bucket"], Key=f"content/{job_id}"
    )
    assert obj["Body"].read() == image
    assert obj["ContentType"] == "image/png"
    assert obj["CacheControl"] == "private, max-age=31536000, immutable"

    url = edge.status(job_id)["content_url"]
    assert url == f"https://127.0.0.1:{edge.port}/content/{job_id}"

    token = edge.idp.token("bob")  # any signed-in user of the pool may view approved content
    status, headers, body = edge.get(url, {"Authorization": f"Bearer {token}"})
    assert status == 200 and body == image
    assert headers["Content-Type"] == "image/png"
    status, _, body = edge.get(url, {"Cookie": f"id_token={token}"})
    assert status == 200 and body == image

    status, headers, body = edge.get(url)
    assert status == 401 and body == b"Unauthorized"
    assert headers["WWW-Authenticate"] == 'Bearer realm="content"'
    status, _, _ = edge.get(url, {"Authorization": f"Bearer {edge.idp.token('bob', 'access')}"})
    assert status == 403, "the stack expects ID tokens"

    http_url = url.replace(edge.cdn.url, edge.cdn.http_url)
    status, headers, _ = edge.get(http_url, {"Authorization": f"Bearer {token}"})
    assert status == 301 and headers["Location"] == url


def test_the_edge_function_runs_in_an_execution_environment_with_edge_logs(edge):
    job_id = accept(edge.stack, fixtures.png(seed=12), user="alice")
    edge.finish(job_id, {"labels": []})
    url = edge.status(job_id)["content_url"]
    token = edge.idp.token("alice")
    assert edge.get(url, {"Authorization": f"Bearer {token}"})[0] == 200
    assert edge.get(url, {"Authorization": "Bearer expired.or.forged"})[0] == 401
    edge.telemetry.flush()
    logs = edge.stack.client("logs")
    group = f"/aws/lambda/us-east-1.{edge.edge_fn.name}"
    lines = [
        e["message"]
        for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]
    ]
    reports = [line for line in lines if line.startswith("REPORT RequestId:")]
    assert len(reports) == 2 and "Init Duration" in reports[0] and "Init Duration" not in reports[1]
    assert "Memory Size: 128 MB" in reports[0]
    refusals = [json.loads(line) for line in lines if '"request refused"' in line]
    assert [r["reason"] for r in refusals] == ["malformed"]
    assert token not in "\n".join(lines)


def test_a_rejected_image_is_never_published(edge):
    job_id = accept(edge.stack, fixtures.png(seed=13), user="alice")
    final = edge.finish(job_id, EXPLICIT)
    assert final["decision"] == "reject"
    assert edge.content_keys() == []
    view = edge.status(job_id)
    assert view["decision"] == "reject" and "content_url" not in view
    token = edge.idp.token("alice")
    status, _, body = edge.get(
        f"{edge.cdn.url}/content/{job_id}", {"Authorization": f"Bearer {token}"}
    )
    assert status == 403 and b"AccessDenied" in body
    # The original is still private in the uploads bucket, which the CDN cannot reach.
    assert edge.stack.client("s3").head_object(
        Bucket=edge.stack.exports["upload_bucket"], Key=final["image_key"]
    )


def test_the_cdn_reads_only_what_the_bucket_policy_grants_this_distribution(edge):
    bucket = edge.stack.exports["content_bucket"]
    s3 = edge.stack.client("s3")
    s3.put_object(Bucket=bucket, Key="private/notes.txt", Body=b"not for the CDN")
    s3.put_object(Bucket=bucket, Key="content/plain", Body=b"fine", ContentType="text/plain")
    auth = {"Authorization": f"Bearer {edge.idp.token('alice')}"}
    assert edge.get(f"{edge.cdn.url}/private/notes.txt", auth)[0] == 403
    assert edge.get(f"{edge.cdn.url}/content/plain", auth)[:3:2] == (200, b"fine")
    assert edge.get(f"{edge.cdn.url}/content/plain", auth, method="HEAD")[0] == 200
    assert edge.get(f"{edge.cdn.url}/content/plain", auth, method="POST")[0] == 403
    assert edge.get(f"{edge.cdn.url}/content/{uuid.uuid4()}", auth)[0] == 403


def test_a_moderators_approval_publishes_the_image_and_a_rejection_never_does(edge):
    approved = accept(edge.stack, fixtures.png(seed=21), user="alice")
    rejected = accept(edge.stack, fixtures.png(seed=22), user="alice")
    for job_id in (approved, rejected):
        assert edge.finish(job_id, MODERATE)["decision"] == "review"
    assert edge.content_keys() == [], "nothing is published while a moderator has to look"
    ddb, table = edge.stack.client("dynamodb"), edge.stack.exports["jobs_table"]
    for job_id, decision in ((approved, "approve"), (rejected, "reject")):
        review.record_verdict(
            ddb,
            table,
            job_id,
            review.ModeratorVerdict(review.Decision(decision)),
            "mod-1",
            utcnow(),
        )
    assert edge.stack.invoke("notifier", {"Records": stream_records(edge.stack)}) == {
        "batchItemFailures": []
    }
    assert edge.content_keys() == [f"content/{approved}"]
    token = edge.idp.token("bob")
    url = edge.status(approved)["content_url"]
    assert edge.get(url, {"Authorization": f"Bearer {token}"})[0] == 200
    assert "content_url" not in edge.status(rejected)
    status, _, _ = edge.get(
        f"{edge.cdn.url}/content/{rejected}", {"Authorization": f"Bearer {token}"}
    )
    assert status == 403


@pytest.mark.parametrize(
    "status, decision",
    [("complete", "warn"), ("complete", "review"), ("complete", "reject"), ("failed", None)],
)
def test_only_approved_jobs_are_published(status, decision):
    class NoS3:
        def copy_object(self, **kwargs):
            raise AssertionError(f"copied a {decision} job")

    job = {"job_id": "j", "status": status, "decision": decision, "image_key": "uploads/j/original"}
    assert notify.publish_content(NoS3(), "uploads", "content", job) is False
