"""API Gateway HTTP APIs: routes, authorizers and stages recorded for the local gateway."""

from __future__ import annotations

from local.registry import (
    RouteDef,
)
from local.twins.common import MockCloud, suffix


def api(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    api_id = suffix(name)
    m.registry.extras["api"] = {
        "id": api_id,
        "name": inputs.get("name"),
        "url": m.gateway_url,
    }
    return api_id, {
        **inputs,
        "apiEndpoint": m.gateway_url,
        "executionArn": m.arn("execute-api", api_id),
        "arn": f"arn:aws:apigateway:{m.region}::/apis/{api_id}",
    }


def authorizer(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    auth_id = suffix(name)
    jwt = inputs.get("jwtConfiguration") or {}
    m.registry.authorizers[auth_id] = {
        "type": inputs.get("authorizerType"),
        "issuer": jwt.get("issuer"),
        "audiences": list(jwt.get("audiences") or []),
        "identity_sources": list(inputs.get("identitySources") or []),
    }
    return auth_id, inputs


def integration(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    integration_id = suffix(name)
    uri = inputs["integrationUri"]
    fn_arn = uri.split("/functions/")[-1].split("/invocations")[0]
    m.registry.integrations[integration_id] = m.registry.function_by_ref(fn_arn).name
    return integration_id, inputs


def route(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    integration_id = inputs["target"].split("/", 1)[1]
    auth = m.registry.authorizers.get(inputs.get("authorizerId") or "", {})
    m.registry.routes.append(
        RouteDef(
            route_key=inputs["routeKey"],
            function=m.registry.integrations[integration_id],
            authorization_type=inputs.get("authorizationType", "NONE"),
            issuer=auth.get("issuer"),
            audiences=auth.get("audiences", []),
        )
    )
    return suffix(name), inputs


def stage(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    default = inputs.get("defaultRouteSettings") or {}
    by_route = {r["routeKey"]: r for r in inputs.get("routeSettings") or []}
    for route in m.registry.routes:
        settings = by_route.get(route.route_key, default)
        route.throttle_rate = settings.get(
            "throttlingRateLimit", default.get("throttlingRateLimit")
        )
        route.throttle_burst = settings.get(
            "throttlingBurstLimit", default.get("throttlingBurstLimit")
        )
    m.registry.stage_settings = {
        "access_log_group": (
            (inputs.get("accessLogSettings") or {}).get("destinationArn") or ""
        ).split("log-group:")[-1],
        "access_log_format": (inputs.get("accessLogSettings") or {}).get("format"),
    }
    return inputs.get("name", "$default"), {**inputs, "invokeUrl": m.gateway_url}


HANDLERS = {
    "aws:apigatewayv2/api:Api": api,
    "aws:apigatewayv2/authorizer:Authorizer": authorizer,
    "aws:apigatewayv2/integration:Integration": integration,
    "aws:apigatewayv2/route:Route": route,
    "aws:apigatewayv2/stage:Stage": stage,
}
