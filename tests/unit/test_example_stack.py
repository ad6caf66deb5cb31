"""Pulumi.dev.yaml documents every setting and is itself a valid stack."""

from __future__ import annotations

import pytest
import yaml

from components.settings import ConfigError, known_keys, settings_from_mapping
from tests.support.paths import ROOT


def dev_config() -> dict:
    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("moderation:")}


def test_every_setting_is_documented_in_the_example_stack():
    assert set(dev_config()) == set(known_keys())


def test_example_stack_refuses_its_placeholder_issuer_until_it_is_replaced():
    """Deployed as is, the example's issuer would make the API refuse every request."""
    with pytest.raises(ConfigError) as info:
        settings_from_mapping("dev", dev_config())
    assert "still hold the example's placeholder" in str(info.value)
    assert "pulumi config set moderation:jwtIssuer" in str(info.value)
    settings = settings_from_mapping(
        "dev",
        {
            **dev_config(),
            "jwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E",
            "jwtAudience": ["4h2kq9app1client2id3"],
        },
    )
    assert settings.force_destroy is True
    assert settings.visibility_timeout_seconds == 180


@pytest.mark.parametrize(
    "issuer",
    [
        "https://cognito-idp.us-east-1.amazonaws.com/<pool-id>",
        "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_Ab12Cd34E",
    ],
)
def test_a_cognito_issuer_must_name_a_real_pool_of_its_region(issuer):
    with pytest.raises(ConfigError, match="jwtIssuer"):
        settings_from_mapping("dev", {"jwtIssuer": issuer, "jwtAudience": "client1"})


def test_project_file_names_the_runtime_and_project():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "moderation"
    assert project["runtime"]["name"] == "python"
