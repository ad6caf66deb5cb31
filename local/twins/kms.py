"""KMS keys created in moto."""

from __future__ import annotations

from typing import Any

from local.twins.common import MockCloud


def kms_key(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    kwargs: dict[str, Any] = {"Description": inputs.get("description", "")}
    if inputs.get("policy"):
        kwargs["Policy"] = inputs["policy"]
    meta = m.client("kms").create_key(**kwargs)["KeyMetadata"]
    if inputs.get("enableKeyRotation"):
        m.client("kms").enable_key_rotation(KeyId=meta["KeyId"])
    return meta["KeyId"], {**inputs, "arn": meta["Arn"], "keyId": meta["KeyId"]}


HANDLERS = {
    "aws:kms/key:Key": kms_key,
}
