"""An animated GIF through the local cloud's API: its later frame's link and phone number
are found, the frame is recorded, and Rekognition (the stand-in) gets one JPEG per frame."""

from __future__ import annotations

import pytest

from local.tools.safe_images import spam_animation
from tests.local_cloud.test_local_cloud import job, upload, wait_for

pytestmark = pytest.mark.local_cloud


def test_an_animated_gif_is_flagged_by_the_frame_that_carries_the_link(local_cloud):
    job_id = upload(local_cloud, spam_animation("GIF"), content_type="image/gif")
    done = wait_for(
        lambda: (lambda j: j if j and j.get("status") == "complete" else None)(
            job(local_cloud, job_id)
        ),
        180,
    )
    assert done["decision"] == "review", done.get("reasons")
    text = done["text_result"]
    flagged = {s["category"]: s for s in text["signals"]}
    assert flagged["spam_link"]["frame"] == 8 and flagged["contact_info"]["frame"] == 8
    assert any(reason.startswith("text: spam_link") and "frame 8" in reason
               for reason in done["reasons"])  # fmt: skip
    rekognition = done["rekognition_result"]
    assert rekognition["source"] == "frames" and rekognition["calls"] == 8
    assert rekognition["frames"] == text["frames"] == done["custom_result"]["frames"]
    assert rekognition["frames"]["count"] == 12
