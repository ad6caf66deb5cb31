"""Typed stack settings read from `pulumi.Config("moderation")`, validated before any resource.

- `model.py`: the dataclasses; each field declares its key, default and documentation;
- `parse.py`: reading config into them (unknown keys refused, with a suggestion);
- `validate.py`: every check, in order (`VALIDATORS`); the checks, one per concern, each
  refusal naming the setting and the fix, are in `validate_platform.py`,
  `validate_pipeline.py`, `validate_access.py` and `validate_models.py`;
- `docs.py`: the settings table of `docs/settings.md`, generated from the fields.
"""

from components.settings.fields import NAMESPACE, ConfigError
from components.settings.model import (
    DEFAULT_FUNCTIONS,
    MIB,
    AnalyticsSettings,
    CachingSettings,
    EdgeAuthSettings,
    FunctionSettings,
    ReviewSettings,
    RouteThrottle,
    StackSettings,
    ThrottlingSettings,
)
from components.settings.parse import known_keys, load_settings, settings_from_mapping

__all__ = [
    "DEFAULT_FUNCTIONS",
    "MIB",
    "NAMESPACE",
    "AnalyticsSettings",
    "CachingSettings",
    "ConfigError",
    "EdgeAuthSettings",
    "FunctionSettings",
    "ReviewSettings",
    "RouteThrottle",
    "StackSettings",
    "ThrottlingSettings",
    "known_keys",
    "load_settings",
    "settings_from_mapping",
]
