"""The base of every component: one type-token scheme and child names derived from its own.

Type tokens are `moderation:<module>:<Class>` (e.g. `moderation:pipeline:ModerationPipeline`),
the `<package>:<module>:<type>` form Pulumi uses. Children are named `<component>-<what>`,
so two instances of a component never collide and a resource's logical name says whose it is.
"""

from __future__ import annotations

from typing import Any

import pulumi

PACKAGE = "moderation"


class Component(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        module = type(self).__module__.rsplit(".", 1)[-1]
        super().__init__(f"{PACKAGE}:{module}:{type(self).__name__}", name, None, opts)
        self.component_name = name

    def child(self, what: str) -> str:
        """The logical name of a child resource."""
        return f"{self.component_name}-{what}"

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options of a child resource: parented here, plus `kwargs` (depends_on, provider, ...)."""
        return pulumi.ResourceOptions(parent=self, **kwargs)
