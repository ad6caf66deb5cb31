"""Animated uploads through the handlers: accepted, refused by policy or by their limits
at upload, and the Rekognition analyzer's one billed call per sampled frame."""

from __future__ import annotations

import io
import json

import pytest
from moto import mock_aws
from PIL import Image

from common import jobs
from common.contract import Branch
from common.timeutil import utcnow
from local.tools.fixtures import tiny_frame_gif
from local.tools.safe_images import spam_animation
from tests.handlers.test_upload import stored, upload
from tests.support.inprocess import build_stack


@pytest.fixture
def rejecting():
    with mock_aws():
        yield build_stack({"animation": {"policy": "reject"}})


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png")]
)
def test_animations_are_accepted_and_queued(stack, fmt, content_type):
    status, body = upload(stack, spam_animation(fmt), content_type)
    assert status == 202, body
    assert stored(stack) == (1, 1, 1)
    job = jobs.get_job(stack.client("dynamodb"), stack.exports["jobs_table"], body["job_id"])
    assert job["content_type"] == content_type


def test_a_frame_bomb_is_refused_and_stores_nothing(stack):
    status, body = upload(stack, tiny_frame_gif(10_000), "image/gif")
    assert (status, body["error"]) == (400, "too_many_frames")
    assert stored(stack) == (0, 0, 0)


def test_the_reject_policy_refuses_animations_inline_and_presigned(rejecting):
    status, body = upload(rejecting, spam_animation("GIF"), "image/gif")
    assert (status, body["error"]) == (415, "animation_not_accepted")
    assert "animated" in body["message"]
    assert stored(rejecting) == (0, 0, 0)
    still = io.BytesIO()
    Image.new("RGB", (120, 90), "red").save(still, "GIF")
    assert upload(rejecting, still.getvalue(), "image/gif")[0] == 202

    data = spam_animation("WEBP")
    req = json.dumps({"content_type": "image/webp", "size_bytes": len(data)}).encode()
    _, body = upload(rejecting, req, "application/json")
    key = f"incoming/{body['job_id']}"
    rejecting.client("s3").put_object(
        Bucket=rejecting.exports["upload_bucket"], Key=key, Body=data, ContentType="image/webp"
    )
    rejecting.invoke("upload", {"Records": [{"s3": {"object": {"key": key}}}]})
    job = jobs.get_job(
        rejecting.client("dynamodb"), rejecting.exports["jobs_table"], body["job_id"], True
    )
    assert job["status"] == "failed" and "animation_not_accepted" in job["reasons"][0]


class CountingRekognition:
    """DetectModerationLabels' shape: JPEG or PNG bytes only; records each call."""

    def __init__(self) -> None:
        self.formats: list[str] = []

    def detect_moderation_labels(self, Image, MinConfidence):  # noqa: N803 - boto3's names
        from PIL import Image as Pil

        self.formats.append(str(Pil.open(io.BytesIO(Image["Bytes"])).format))
        return {"ModerationLabels": [], "ModerationModelVersion": "7.0"}


def test_the_rekognition_analyzer_makes_one_call_per_sampled_frame(stack):
    status, body = upload(stack, spam_animation("GIF"), "image/gif")
    assert status == 202
    job_id, ddb, table = body["job_id"], stack.client("dynamodb"), stack.exports["jobs_table"]
    claim = jobs.claim_for_analysis(ddb, table, job_id, utcnow(), 30, tuple(Branch))
    assert claim.claimed
    rek = CountingRekognition()

    def patch(module):
        real = module.client
        module.client = lambda service: rek if service == "rekognition" else real(service)

    event = {"job_id": job_id, "image_key": claim.job["image_key"], "content_type": "image/gif"}
    stack.invoke("rekognition_analyzer", event, patch)
    result = jobs.get_job(ddb, table, job_id, True)["rekognition_result"]
    assert rek.formats == ["JPEG"] * 8
    assert result["calls"] == 8 and result["source"] == "frames"
    assert result["frames"]["count"] == 12 and len(result["frames"]["analyzed"]) == 8
