"""Lambda functions, event source mappings and async settings: recorded for the runtime."""

from __future__ import annotations

import uuid

from local.registry import (
    AsyncConfigDef,
    FunctionDef,
    MappingDef,
)
from local.twins.common import MockCloud, suffix


def function(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    fn_name = inputs.get("name") or f"{name}-{suffix(name)}"
    code = inputs.get("code")
    code_dir = getattr(code, "path", None)
    if code_dir is None:
        raise ValueError(f"function {fn_name}: the local cloud runs FileArchive code only")
    arn = m.arn("lambda", f"function:{fn_name}")
    logical = (
        (inputs.get("environment") or {})
        .get("variables", {})
        .get("POWERTOOLS_SERVICE_NAME", name.removesuffix("-function"))
    )
    logging_config = inputs.get("loggingConfig") or {}
    m.registry.functions[fn_name] = FunctionDef(
        logical=logical,
        name=fn_name,
        arn=arn,
        handler=inputs["handler"],
        runtime=inputs.get("runtime", ""),
        code_dir=str(code_dir),
        memory=int(inputs.get("memorySize") or 128),
        timeout=int(inputs.get("timeout") or 3),
        reserved_concurrency=(
            int(inputs["reservedConcurrentExecutions"])
            if inputs.get("reservedConcurrentExecutions") not in (None, -1)
            else None
        ),
        environment=dict((inputs.get("environment") or {}).get("variables") or {}),
        architecture=(inputs.get("architectures") or ["x86_64"])[0],
        log_group=logging_config.get("logGroup") or f"/aws/lambda/{fn_name}",
        tracing=(inputs.get("tracingConfig") or {}).get("mode", "PassThrough"),
        role_arn=str(inputs.get("role") or ""),
        layers=[_layer_dir(m, fn_name, arn) for arn in inputs.get("layers") or []],
    )
    return fn_name, {
        **inputs,
        "name": fn_name,
        "arn": arn,
        "invokeArn": (
            f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        "qualifiedArn": f"{arn}:1",
        "qualifiedInvokeArn": (
            f"arn:aws:apigateway:{m.region}:lambda:path/2015-03-31/functions/{arn}:1/invocations"
        ),
        "version": "1",
    }


def _layer_dir(m: MockCloud, fn_name: str, arn: str) -> str:
    try:
        return m.registry.layers[arn]
    except KeyError:
        raise ValueError(
            f"function {fn_name}: layer {arn} is not a layer version of this stack"
        ) from None


def layer_version(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    """A layer is the directory its code was archived from; a function's worker puts its
    `python/` on the import path after the function's own code, as Lambda does with /opt."""
    layer_name = inputs.get("layerName") or f"{name}-{suffix(name)}"
    layer_dir = getattr(inputs.get("code"), "path", None)
    if layer_dir is None:
        raise ValueError(f"layer {layer_name}: the local cloud runs FileArchive layers only")
    layer_arn = m.arn("lambda", f"layer:{layer_name}")
    arn = f"{layer_arn}:1"
    m.registry.layers[arn] = str(layer_dir)
    return arn, {**inputs, "arn": arn, "layerArn": layer_arn, "version": "1"}


def mapping(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name + inputs["eventSourceArn"]))
    destination = ((inputs.get("destinationConfig") or {}).get("onFailure") or {}).get(
        "destinationArn"
    )
    filters = [f["pattern"] for f in ((inputs.get("filterCriteria") or {}).get("filters") or [])]
    m.registry.mappings.append(
        MappingDef(
            uuid=mapping_id,
            source_arn=inputs["eventSourceArn"],
            function=m.registry.function_by_ref(inputs["functionName"]).name,
            batch_size=int(inputs.get("batchSize") or 10),
            batching_window=int(inputs.get("maximumBatchingWindowInSeconds") or 0),
            report_batch_item_failures="ReportBatchItemFailures"
            in (inputs.get("functionResponseTypes") or []),
            starting_position=inputs.get("startingPosition"),
            filters=filters,
            bisect_on_error=bool(inputs.get("bisectBatchOnFunctionError")),
            max_retries=inputs.get("maximumRetryAttempts"),
            on_failure_arn=destination,
            max_concurrency=(inputs.get("scalingConfig") or {}).get("maximumConcurrency"),
        )
    )
    return mapping_id, {
        **inputs,
        "uuid": mapping_id,
        "arn": m.arn("lambda", f"event-source-mapping:{mapping_id}"),
    }


def async_config(m: MockCloud, name: str, inputs: dict) -> tuple[str, dict]:
    fn = m.registry.function_by_ref(inputs["functionName"])
    dest = inputs.get("destinationConfig") or {}
    m.registry.async_configs[fn.name] = AsyncConfigDef(
        function=fn.name,
        max_retries=int(inputs.get("maximumRetryAttempts", 2)),
        max_event_age=int(inputs.get("maximumEventAgeInSeconds", 21600)),
        on_failure_arn=(dest.get("onFailure") or {}).get("destination"),
        on_success_arn=(dest.get("onSuccess") or {}).get("destination"),
    )
    return fn.name, inputs


HANDLERS = {
    "aws:lambda/function:Function": function,
    "aws:lambda/layerVersion:LayerVersion": layer_version,
    "aws:lambda/eventSourceMapping:EventSourceMapping": mapping,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": async_config,
}
