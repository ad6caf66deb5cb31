"""Every AWS call a function's code can make is allowed by that function's role, on the
resource it targets.

For each function the program declares (under Pulumi's mocks, with every optional
component on), the boto3 call sites its handler can reach (tests/support/iam_coverage.py:
the handler's import closure inside `lambdas/`, function by function) are mapped to the
IAM action each needs and to the resource it targets, traced to the environment variable
naming it and from there to the ARN the program declared; the function's inline policy
must allow each pair. A call site whose resource the trace cannot settle must have an
entry in REVIEWED; one that has none is UNKNOWN and fails the test. So a new code path
that needs a permission fails here, not on the first deploy.

What this does not cover (docs/deploying.md): S3 key prefixes (only the bucket is
checked), policy conditions, resource policies, and calls made for the function by a
service (event source mappings read the queue and the streams with the role: those
grants are checked by test_security.py).
"""

from __future__ import annotations

import ast
import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lambdas.common.contract import APPEAL_INDEX, QA_INDEX, REVIEW_INDEX, AnalysisOrder, Env
from tests.support import iam_coverage as ic
from tests.support.paths import ROOT
from tests.support.program import ProgramRun, function_component, run_program

LAMBDAS = ROOT / "lambdas"
ENV_NAMES = {member.name: str(member.value) for member in Env}


@dataclass(frozen=True)
class Reviewed:
    """A call site whose resource static tracing cannot settle, settled by a reviewer."""

    variables: tuple[str, ...]  # the environment variables naming its possible resources
    reason: str
    # The call happens only when the function's environment has these values.
    only_when: dict[str, str] = field(default_factory=dict)
    # The table indexes a Query may name (when its IndexName is not a constant).
    indexes: tuple[str, ...] = ()


# (function, "<module>:<function>:<operation>") -> what a reviewer settled.
REVIEWED: dict[tuple[str, str], Reviewed] = {
    ("dispatcher", "common.dispatch:dispatch:invoke"): Reviewed(
        (Env.REKOGNITION_FUNCTION, Env.CUSTOM_FUNCTION, Env.TEXT_FUNCTION),
        "invokes the analyzers of `plan.analyzers`, built by dispatch.analyzers_from_env() "
        "from exactly these variables (BRANCH_ENV)",
    ),
    ("dispatcher", "common.analysis:complete_branch:invoke"): Reviewed(
        (Env.REKOGNITION_FUNCTION,),
        "the custom side's follow-on start of Rekognition; the dispatcher passes no "
        "follow_on, so it never makes this call, and were it to, it may invoke Rekognition",
    ),
    ("dispatcher", "common.verdicts:_put:put_item"): Reviewed(
        (Env.VERDICTS_TABLE,),
        "the dispatcher finalizes (and stores the verdict) only when it re-claims a "
        "custom-first job whose custom side already rejects (dispatch.dispatch: "
        "start.skip_rekognition); in parallel it never finalizes",
        only_when={Env.ANALYSIS_ORDER: AnalysisOrder.CUSTOM_FIRST},
    ),
    ("review", "common.claims:pending_matching:query"): Reviewed(
        (Env.JOBS_TABLE,),
        "a claim reads the queue's partition of its index: claims.QUEUES names exactly these",
        indexes=(REVIEW_INDEX, APPEAL_INDEX, QA_INDEX),
    ),
    # Hash banks: the table is a boto3 Table resource the handler builds from BANKS_TABLE.
    ("custom_analyzer", "common.banks:scan_all:scan"): Reviewed(
        (Env.BANKS_TABLE,),
        "BankCache(boto3.resource('dynamodb').Table(env BANKS_TABLE)) loads the banks",
    ),
    ("custom_analyzer", "common.banks:_raw_page:scan"): Reviewed(
        (Env.BANKS_TABLE,),
        "the load's Scan pages (scan_all with raw=True), through the same BankCache table",
    ),
    ("banks", "common.banks:_raw_page:scan"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("custom_analyzer", "common.banks:record_hit:update_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "hit counts and quarantine on the matched entry, through the same BankCache table",
    ),
    ("banks", "common.banks:add_entries:put_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:add_entry:put_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:delete_entry:delete_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:get_bank:get_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:list_entries:query"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:put_bank:put_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:scan_all:scan"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
    ("banks", "common.banks:stamp_change:put_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "every bank change stamps the change item, through the /banks API's Table",
    ),
    ("dispatcher", "common.verdicts:lookup:batch_get_item"): Reviewed(
        (Env.VERDICTS_TABLE, Env.BANKS_TABLE),
        "one BatchGetItem reads the verdict and Rekognition's version (VERDICTS_TABLE) and "
        "the banks' change stamp (BANKS_TABLE, when set)",
    ),
    ("banks", "common.banks:set_entry_enabled:update_item"): Reviewed(
        (Env.BANKS_TABLE,),
        "the /banks API's Table is boto3.resource('dynamodb').Table(env BANKS_TABLE)",
    ),
}

# Near-duplicate reuse (common/verdicts.py, find_near/store_near): only where the function's
# environment has the distance, i.e. the analyzers of a stack with it on (the value is
# the default the every-component run uses).
NEAR_ON = {Env.NEAR_DUPLICATE_DISTANCE: "8"}
for _fn in ("rekognition_analyzer", "custom_analyzer", "text_analyzer", "dispatcher"):
    for _call in (
        "common.verdicts:_batch_get:batch_get_item",
        "common.verdicts:store_near:update_item",
        "common.verdicts:store_near:put_item",
    ):
        REVIEWED[(_fn, _call)] = Reviewed(
            (Env.VERDICTS_TABLE,),
            "the near-duplicate index lives in the verdicts table (ReuseConfig.table)",
            only_when=NEAR_ON,
        )

# The status function's cache code reads its secret only when the stack has a cache: the
# variables it traces to are then set. Variables a function's environment lacks mean the
# code path is off in that stack (e.g. CONTENT_BUCKET without edge auth).


def all_on_config(tmp_path_factory) -> dict:
    from tests.support.edge import SigningKey

    jwks = tmp_path_factory.mktemp("coverage-jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [SigningKey("coverage").jwk()]}))
    return {
        "cachingEnabled": True,
        "analyticsEnabled": True,
        "edgeAuthEnabled": True,
        "edgeAuth": {"jwksFile": str(jwks)},
        "analysisOrder": "custom-first",
        "verdictReuse": {"nearDuplicate": True},
        "review": {"queueWarn": True},
    }


@pytest.fixture(scope="module", params=["default", "every-component-custom-first"])
def run(request, tmp_path_factory) -> ProgramRun:
    if request.param == "default":
        return run_program()
    return run_program(all_on_config(tmp_path_factory))


# --- the check ------------------------------------------------------------------------------


@dataclass
class Report:
    covered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    off: list[str] = field(default_factory=list)  # call paths this stack does not configure


def functions(run: ProgramRun) -> dict[str, ic.Closure]:
    """{logical name: its handler's closure} of every Lambda function the program declares."""
    out = {}
    for fn in run.of_type("aws:lambda/function:Function"):
        module, _, function = fn.inputs["handler"].rpartition(".")
        out[module.split(".")[0]] = ic.Closure([LAMBDAS], module, function)
    return out


def lambda_resource(run: ProgramRun, logical: str):
    """The function whose handler is in `lambdas/<logical>/`."""
    (fn,) = [
        f
        for f in run.of_type("aws:lambda/function:Function")
        if f.inputs["handler"].split(".")[0] == logical
    ]
    return fn


def allows(doc: dict, action: str, resource: str, prefix: bool = False) -> bool:
    """Whether an Allow statement grants `action` on `resource` (IAM's `*`/`?` wildcards).
    `prefix`: on some object under `resource` (an S3 bucket's ARN)."""
    for stmt in doc["Statement"]:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        resources = stmt["Resource"] if isinstance(stmt["Resource"], list) else [stmt["Resource"]]
        if stmt["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in actions):
            continue
        for granted in resources:
            if fnmatch.fnmatchcase(resource, granted):
                return True
            if prefix and (granted.startswith(f"{resource}/") or granted == "*"):
                return True
    return False


def arn_of(run: ProgramRun, action: str, value: str, index: str | None) -> tuple[str, bool]:
    """The ARN a variable's value names for `action` (and whether it is an S3 bucket whose
    objects are meant)."""
    service = action.split(":")[0]
    if service == "dynamodb":
        table = run.by_output("name", value, "aws:dynamodb/table:Table")
        return table.outputs["arn"] + (f"/index/{index}" if index else ""), False
    if service == "s3":
        bucket = run.by_output("bucket", value, "aws:s3/bucket:Bucket").outputs["arn"]
        return bucket, action != "s3:ListBucket"
    if service == "sqs":
        return run.by_output("url", value, "aws:sqs/queue:Queue").outputs["arn"], False
    if service == "lambda":
        name, _, alias = value.partition(":")
        (fn,) = [
            f for f in run.of_type("aws:lambda/function:Function") if f.outputs.get("name") == name
        ]
        arn = fn.outputs["arn"]
        return (f"{arn}:{alias}" if alias else arn), False
    return value, False  # SNS topics and secrets are passed by ARN


def check(run: ProgramRun, logical: str, closure: ic.Closure, doc: dict) -> Report:
    report = Report()
    env = lambda_resource(run, logical).inputs.get("environment", {}).get("variables", {})
    for site in ic.call_sites(closure):
        label = f"{logical}: {site.where} (line {site.line})"
        if site.action == "?":
            report.unknown.append(f"{label}: an operation of several services ({site.service})")
            continue
        reviewed = REVIEWED.get((logical, site.where))
        if reviewed is not None and any(env.get(k) != v for k, v in reviewed.only_when.items()):
            report.off.append(f"{label}: only with {reviewed.only_when}")
            continue
        resolved = []
        for need in ic.needs(site, closure):
            tracer = ic.Tracer(closure, ENV_NAMES)
            if need.star:
                resolved.append((need, {"*"}))
            elif reviewed is not None:
                resolved.append((need, set(map(str, reviewed.variables))))
            else:
                variables = tracer.sources(need.unit, need.expr)
                if ic.UNRESOLVED in variables:
                    stops = "; ".join(dict.fromkeys(tracer.stops))
                    report.unknown.append(
                        f"{label} needs {need.action}: resource not traceable ({stops})"
                    )
                    break
                resolved.append((need, variables))
        else:
            # A call whose resources all come from unset variables is off in this stack
            # (e.g. the content copy without edge auth): every one of its needs is.
            if any(
                v and all(x not in env for x in v if x != "*") and "*" not in v for _, v in resolved
            ):
                report.off.append(f"{label}: its variables are not set")
                continue
            index = ic.index_name(site, closure) if site.service == "dynamodb" else None
            indexes: tuple[str | None, ...] = (index,)
            if index == ic.UNRESOLVED and reviewed is not None and reviewed.indexes:
                indexes = reviewed.indexes
            elif index == ic.UNRESOLVED:
                report.unknown.append(f"{label}: index name not a constant")
                continue
            for need, variables in resolved:
                text = f"{label} needs {need.action}"
                if need.star:
                    ok = allows(doc, need.action, "*")
                    (report.covered if ok else report.missing).append(f"{text} on *")
                    continue
                for variable in sorted(v for v in variables if v in env):
                    for one in indexes:
                        arn, objects = arn_of(run, need.action, env[variable], one)
                        ok = allows(doc, need.action, arn, prefix=objects)
                        (report.covered if ok else report.missing).append(f"{text} on {arn}")
    return report


def policy(run: ProgramRun, logical: str) -> dict:
    res = run.one("aws:iam/rolePolicy:RolePolicy", f"{function_component(logical)}-policy")
    return json.loads(res.inputs["policy"])


# --- the tests --------------------------------------------------------------------------------


def test_every_call_a_function_can_make_is_allowed_on_its_resource(run):
    reports = {
        logical: check(run, logical, closure, policy(run, logical))
        for logical, closure in functions(run).items()
    }
    unknown = [line for r in reports.values() for line in r.unknown]
    missing = [line for r in reports.values() for line in r.missing]
    assert not unknown, "UNKNOWN call sites (trace them or add a REVIEWED entry):\n" + "\n".join(
        unknown
    )
    assert not missing, "calls the role does not allow:\n" + "\n".join(missing)
    # Not vacuous: the calls the pipeline lives on are found and checked.
    covered = "\n".join(line for r in reports.values() for line in r.covered)
    for expected in (
        "upload: common.jobs:create_job:put_item",
        "dispatcher: common.verdicts:lookup:batch_get_item",
        "rekognition_analyzer: common.rekognition:detect:detect_moderation_labels",
        "notifier: common.notify:publish:publish",
        "sweeper: common.sweep:drain_failure_queue:delete_message_batch",
        "review: review.handler:_image_url:get_object",
    ):
        assert expected in covered, expected


def test_optional_components_calls_are_checked_with_them_on(tmp_path_factory):
    run = run_program(all_on_config(tmp_path_factory))
    closures = functions(run)
    assert {"exporter", "edge_auth", "status", "review"} <= set(closures)
    covered = {
        logical: check(run, logical, c, policy(run, logical)).covered
        for logical, c in closures.items()
    }

    def checked(logical: str, where: str, needs: str) -> bool:
        return any(where in line and f"needs {needs} on" in line for line in covered[logical])

    assert checked(
        "status", "credentials_from_secret:get_secret_value", "secretsmanager:GetSecretValue"
    )
    assert checked("exporter", "common.export:write_rows:put_object", "s3:PutObject")
    assert checked("notifier", "common.notify:_copy:copy_object", "s3:PutObject")
    assert checked("notifier", "common.notify:_copy:copy_object", "s3:GetObject")
    assert checked("dispatcher", "common.verdicts:_put:put_item", "dynamodb:PutItem")
    assert checked("custom_analyzer", "complete_branch:invoke", "lambda:InvokeFunction")


def test_the_custom_first_dispatcher_without_its_verdict_grant_fails(tmp_path_factory):
    """Without `StoreVerdicts`, the custom-first re-claim's PutItem is reported missing:
    the AccessDenied a deployed stack got after the job completed."""
    run = run_program({"analysisOrder": "custom-first"})
    doc = policy(run, "dispatcher")
    closure = functions(run)["dispatcher"]
    assert not check(run, "dispatcher", closure, doc).missing
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "StoreVerdicts"]
    verdicts = run.one("aws:dynamodb/table:Table", "moderation-store-verdicts").outputs["arn"]
    assert check(run, "dispatcher", closure, doc).missing == [
        "dispatcher: common.verdicts:_put:put_item (line "
        f"{_line_of(closure, 'common.verdicts', '_put', 'put_item')}) needs dynamodb:PutItem on "
        f"{verdicts}"
    ]


def _line_of(closure: ic.Closure, module: str, function: str, op: str) -> int:
    return next(
        s.line
        for s in ic.call_sites(closure)
        if (s.module, s.function, s.operation) == (module, function, op)
    )


def test_tracing_and_logging_are_allowed_where_the_function_traces_and_logs(run):
    """Powertools' Tracer sends segments through the X-Ray daemon (PutTraceSegments,
    PutTelemetryRecords on *); Lambda writes the function's logs to its own group."""
    for logical, closure in functions(run).items():
        doc, fn = policy(run, logical), lambda_resource(run, logical)
        traces = any(
            bound[0].startswith("aws_lambda_powertools") and bound[1] == "Tracer"
            for mod in closure.modules.values()
            for bound in mod.imports.values()
        )
        if traces and fn.inputs.get("tracingConfig", {}).get("mode") == "Active":
            for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
                assert allows(doc, action, "*"), (logical, action)
        groups = [
            g
            for g in run.of_type("aws:cloudwatch/logGroup:LogGroup")
            if g.name == f"{function_component(logical)}-logs"
        ]
        if logical == "edge_auth":
            continue  # Lambda@Edge logs in each edge region: test_security checks its pattern
        (group,) = groups
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            assert allows(doc, action, group.outputs["arn"] + ":log-stream:x"), (logical, action)


def test_every_reviewed_entry_still_names_a_reachable_call_site(tmp_path_factory):
    run = run_program(all_on_config(tmp_path_factory))
    sites = {(logical, s.where) for logical, c in functions(run).items() for s in ic.call_sites(c)}
    for key in REVIEWED:
        assert key in sites, f"REVIEWED entry {key} matches no call site: remove or update it"


# --- the scan itself, on code written for the purpose ----------------------------------------


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_an_untraceable_resource_is_unknown_and_a_traced_one_is_not(tmp_path):
    write_package(
        tmp_path,
        {
            "common/__init__.py": "",
            "common/clients.py": "import boto3\ndef client(s):\n    return boto3.client(s)\n",
            "common/queue.py": (
                "from common.contract import Env\n"
                "def send(sqs, url, body):\n    sqs.send_message(QueueUrl=url, MessageBody=body)\n"
                "def send_somewhere(sqs, urls):\n    sqs.send_message(QueueUrl=urls['a'], MessageBody='')\n"
                "def unused(sns):\n    sns.publish(TopicArn='x', Message='')\n"
            ),
            "fn/__init__.py": "",
            "fn/handler.py": (
                "import os\nfrom common import queue\nfrom common.clients import client\n"
                "from common.contract import Env\n"
                "def handler(event, context):\n"
                "    queue.send(client('sqs'), os.environ[Env.PROCESSING_QUEUE_URL], 'x')\n"
                "    queue.send_somewhere(client('sqs'), event)\n"
            ),
        },
    )
    closure = ic.Closure([tmp_path], "fn.handler", "handler")
    sites = {s.where: s for s in ic.call_sites(closure)}
    # `unused` is named by nothing reachable: its publish is not a call site
    assert set(sites) == {
        "common.queue:send:send_message",
        "common.queue:send_somewhere:send_message",
    }
    traced = ic.Tracer(closure, ENV_NAMES)
    (need,) = ic.needs(sites["common.queue:send:send_message"], closure)
    assert need.action == "sqs:SendMessage"
    assert traced.sources(need.unit, need.expr) == {str(Env.PROCESSING_QUEUE_URL)}
    (need,) = ic.needs(sites["common.queue:send_somewhere:send_message"], closure)
    assert ic.UNRESOLVED in traced.sources(need.unit, need.expr)


def test_actions_iam_names_differently_are_mapped():
    assert ic.iam_action("s3", "head_object") == "s3:GetObject"
    assert ic.iam_action("s3", "list_objects_v2") == "s3:ListBucket"
    assert ic.iam_action("lambda", "invoke") == "lambda:InvokeFunction"
    assert ic.iam_action("sqs", "delete_message_batch") == "sqs:DeleteMessage"
    assert ic.iam_action("dynamodb", "batch_get_item") == "dynamodb:BatchGetItem"
    assert ic.iam_action("cloudwatch", "put_metric_data") == "cloudwatch:PutMetricData"


def test_a_presigned_url_needs_the_action_it_signs(tmp_path):
    write_package(
        tmp_path,
        {
            "fn/__init__.py": "",
            "fn/handler.py": (
                "import boto3\n"
                "def handler(event, context):\n"
                "    return boto3.client('s3').generate_presigned_url(\n"
                "        'put_object', Params={'Bucket': event['b'], 'Key': 'k'})\n"
            ),
        },
    )
    closure = ic.Closure([tmp_path], "fn.handler", "handler")
    (site,) = ic.call_sites(closure)
    (need,) = ic.needs(site, closure)
    assert need.action == "s3:PutObject"
    assert isinstance(need.expr, ast.Subscript)
