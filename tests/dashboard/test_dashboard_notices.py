"""Notices beside a job in the console: the data function the Job trace page draws."""

from __future__ import annotations

from dashboard.data import notices


def test_a_jobs_notices_are_listed_oldest_first_and_a_job_without_any_lists_none():
    job = {
        "job_id": "j",
        "notices": [
            {"notice_id": "b", "at": "2026-05-02T00:00:00Z", "category": "C2", "notifier": "u2",
             "explanation": "later"},
            {"notice_id": "a", "at": "2026-05-01T00:00:00Z", "category": "C1", "notifier": "u1",
             "explanation": "first"},
        ],
    }  # fmt: skip
    frame = notices.notices_of(job)
    assert frame["notice_id"].tolist() == ["a", "b"]
    assert list(frame.columns) == notices.NOTICE_COLUMNS
    assert notices.notices_of({"job_id": "k"}).empty
