"""Pulumi.dev.yaml documents every setting and is itself a valid stack."""

from __future__ import annotations

import yaml

from components.settings import known_keys, settings_from_mapping
from tests.support.paths import ROOT


def dev_config() -> dict:
    raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("moderation:")}


def test_every_setting_is_documented_in_the_example_stack():
    assert set(dev_config()) == set(known_keys())


def test_example_stack_is_valid():
    settings = settings_from_mapping("dev", dev_config())
    assert settings.force_destroy is True
    assert settings.visibility_timeout_seconds == 180


def test_project_file_names_the_runtime_and_project():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "moderation"
    assert project["runtime"]["name"] == "python"
