"""Make moto's DynamoDB responses cost what DynamoDB's do: AttributeValues copied, not walked.

moto serializes every response through its generic, model-driven serializer: each
AttributeValue of each item is a structure whose ten members (S, N, B, SS, NS, BS, M,
L, NULL, BOOL) are looked up through alias providers, one by one. An item with nested
results holds some fifty of them, so a Query returning 25 such items spends around
0.3 s in serialization alone, which DynamoDB answers in milliseconds. moto's items
are already in the wire shape (`{"S": ...}`, `{"M": {...}}`), so an AttributeValue
made only of strings, numbers, booleans, nulls, lists and maps is copied as it is;
anything else (binary values, which need base64, or a shape this does not recognise)
goes through moto's serializer as before. `tests/local_cloud/test_local_attribute_values.py`
checks the output is byte for byte what moto's serializer writes.
"""

from __future__ import annotations

from typing import Any

from local.moto_patches.patching import patch_once

_PATCHED_ATTR = "_moderation_attribute_values"
_SHAPES = {"AttributeValue"}


def wire_copy(value: Any) -> Any:
    """The serialized AttributeValue, or None when moto's serializer must handle it."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return {kind: inner} if isinstance(inner, str) else None
    if kind in ("BOOL", "NULL"):
        return {kind: inner} if isinstance(inner, bool) else None
    if kind in ("SS", "NS"):
        if isinstance(inner, list) and all(isinstance(v, str) for v in inner):
            return {kind: list(inner)}
        return None
    if kind == "M":
        if not isinstance(inner, dict):
            return None
        members = {}
        for name, member in inner.items():
            copied = wire_copy(member)
            if copied is None or not isinstance(name, str):
                return None
            members[name] = copied
        return {"M": members}
    if kind == "L":
        if not isinstance(inner, list):
            return None
        items = []
        for member in inner:
            copied = wire_copy(member)
            if copied is None:
                return None
            items.append(copied)
        return {"L": items}
    return None  # B, BS, or something unexpected: moto's own path


def _fast(original):
    def serialize_structure(self, serialized, value, shape, key):
        if key and shape.name in _SHAPES:
            copied = wire_copy(value)
            if copied is not None:
                serialized[self.get_serialized_name(shape, key)] = copied
                return
        original(self, serialized, value, shape, key)

    return serialize_structure


def make_attribute_values_fast() -> None:
    from moto.core.serialize import BaseJSONSerializer

    patch_once(BaseJSONSerializer, "_serialize_type_structure", _PATCHED_ATTR, _fast)
