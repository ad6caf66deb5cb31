"""`moderation:banks.*` and the seed of the stack's blocklist into a bank."""

from __future__ import annotations

import pytest

from components.banks import seed_items
from components.settings import ConfigError, settings_from_mapping

ISSUER = {"jwtIssuer": "https://issuer.example", "jwtAudience": ["aud"]}


def test_the_operator_group_defaults_to_operators():
    assert settings_from_mapping("t", ISSUER).banks.operator_group == "operators"


@pytest.mark.parametrize(
    "group,fragment",
    [("ops team", "not a Cognito group name"), ("moderators", "is the moderator group")],
)
def test_a_bad_operator_group_fails_naming_the_setting(group, fragment):
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("t", {**ISSUER, "banks": {"operatorGroup": group}})
    assert "moderation:banks.operatorGroup" in str(info.value) and fragment in str(info.value)


def test_blocklist_hashes_seed_one_reject_bank_with_an_entry_each():
    s = settings_from_mapping(
        "t",
        {
            **ISSUER,
            "blocklistHashes": ["00FF00FF00FF00FF", "0123456789abcdef"],
            "blocklistMaxDistance": 8,
        },
    )
    bank, *entries = seed_items(s)
    assert bank["entry_id"] == "#bank" and bank["action"] == "reject"
    assert bank["max_distance"]["dhash"] == 8
    assert [e["dhash"] for e in entries] == ["00ff00ff00ff00ff", "0123456789abcdef"]
    assert all(e["bank"] == "stack-blocklist" and e["enabled"] for e in entries)
    assert seed_items(settings_from_mapping("t", ISSUER)) == []
