"""Rekognition DetectModerationLabels on the S3 object; the image never passes through Lambda."""

from __future__ import annotations


def detect(rek, bucket: str, key: str, min_confidence: float) -> dict:
    out = rek.detect_moderation_labels(
        Image={"S3Object": {"Bucket": bucket, "Name": key}},
        MinConfidence=min_confidence,
    )
    raw = out.get("ModerationLabels", [])
    parents = {lab["Name"]: lab.get("ParentName", "") for lab in raw}

    def top_level(name: str) -> str:
        seen = set()
        while parents.get(name) and name not in seen:
            seen.add(name)
            name = parents[name]
        return name

    labels = [
        {
            "name": lab["Name"],
            "confidence": round(float(lab["Confidence"]), 3),
            "parent": lab.get("ParentName", ""),
            "top_level": top_level(lab["Name"]),
            "level": lab.get("TaxonomyLevel"),
        }
        for lab in raw
    ]
    return {
        "labels": labels,
        "model_version": out.get("ModerationModelVersion", ""),
        "min_confidence": min_confidence,
    }
