"""Which AWS calls a function's code can make, and what IAM must allow for each.

A static scan of the code a handler reaches, with no import of it:

- **Closure.** From the handler module, the modules it imports that live in `lambdas/`
  (its own package and `common`, found from the import statements, not from a list).
- **Reachable code.** Every module's top level (it runs on import) and, from the handler
  function, every function or class a reachable body names (called, passed as a
  callback, or referenced): a function nothing reachable names is not counted.
- **Call sites.** In reachable code, `<expr>.<operation>(...)` where `operation` is an
  operation (botocore's service model, snake_case) of a service the reachable code creates
  a client for (`client("s3")`, `boto3.client("s3", ...)`), and `<expr>` is not one of
  the closure's modules or classes. `get_paginator("op")` counts as `op`.
- **Resources.** The argument naming the resource (`TableName`, `Bucket`, `QueueUrl`,
  `TopicArn`, `FunctionName`, `SecretId`; in `**kwargs` built from a dict literal too) is
  traced back to the environment variable it comes from: through local assignments,
  through the enclosing function's parameters to every reachable call of it, and through
  the fields of objects built with that field as a keyword. What the trace cannot settle
  is looked up in REVIEWED (tests/program/test_iam_coverage.py); a call site in neither
  is UNKNOWN.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import botocore.session
from botocore import xform_name

# How a resource argument is named, per service and operation.
RESOURCE_ARGS = {
    "dynamodb": ("TableName",),
    "s3": ("Bucket",),
    "sqs": ("QueueUrl",),
    "sns": ("TopicArn", "TargetArn"),
    "lambda": ("FunctionName",),
    "secretsmanager": ("SecretId",),
}
# The IAM action prefix where it differs from the client's service name.
IAM_PREFIX = {"monitoring": "cloudwatch", "cloudwatch": "cloudwatch"}
# Operations IAM authorizes as another action (AWS's Service Authorization Reference).
ACTION_OF = {
    ("s3", "head_object"): "s3:GetObject",  # HeadObject needs GetObject
    ("s3", "list_objects_v2"): "s3:ListBucket",
    ("s3", "list_objects"): "s3:ListBucket",
    ("s3", "head_bucket"): "s3:ListBucket",
    ("s3", "delete_objects"): "s3:DeleteObject",  # per key
    ("s3", "upload_fileobj"): "s3:PutObject",
    ("s3", "upload_file"): "s3:PutObject",
    ("s3", "download_fileobj"): "s3:GetObject",
    ("s3", "download_file"): "s3:GetObject",
    ("lambda", "invoke"): "lambda:InvokeFunction",
    ("lambda", "invoke_async"): "lambda:InvokeFunction",
    ("sqs", "send_message_batch"): "sqs:SendMessage",
    ("sqs", "delete_message_batch"): "sqs:DeleteMessage",
    ("sqs", "change_message_visibility_batch"): "sqs:ChangeMessageVisibility",
    ("sns", "publish_batch"): "sns:Publish",
    ("cloudwatch", "put_metric_data"): "cloudwatch:PutMetricData",
}
# Client methods that are not requests (or are, through their arguments: presigning).
NOT_REQUESTS = {"get_paginator", "get_waiter", "can_paginate", "close", "generate_presigned_post"}


@functools.cache
def operations(service: str) -> dict[str, str]:
    """{snake_case: OperationName} of a botocore service (plus the S3 transfer methods)."""
    model = botocore.session.get_session().get_service_model(service)
    ops = {xform_name(op): op for op in model.operation_names}
    if service == "s3":
        for name in ("upload_fileobj", "upload_file", "download_fileobj", "download_file"):
            ops[name] = name
    return ops


def iam_action(service: str, op: str) -> str:
    if (service, op) in ACTION_OF:
        return ACTION_OF[(service, op)]
    return f"{IAM_PREFIX.get(service, service)}:{operations(service)[op]}"


# --- modules ---------------------------------------------------------------------------


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    # local name -> (module, attribute or None): what `import`/`from ... import` bound
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)


@dataclass(frozen=True)
class Unit:
    """A piece of reachable code: a module's top level or one function (`Class.method`)."""

    module: str
    qualname: str  # "" for the top level


class Closure:
    """The modules a handler imports from `roots` (each a directory on the function's path)."""

    def __init__(self, roots: list[Path], handler_module: str, handler_function: str) -> None:
        self.roots = roots
        self.modules: dict[str, Module] = {}
        self._load(handler_module)
        self.entry = Unit(handler_module, handler_function)

    def _path_of(self, name: str) -> Path | None:
        parts = name.split(".")
        for root in self.roots:
            base = root.joinpath(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def _load(self, name: str) -> None:
        if name in self.modules:
            return
        path = self._path_of(name)
        if path is None:
            return
        mod = Module(name, path, ast.parse(path.read_text(), str(path)))
        self.modules[name] = mod
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._load(alias.name)
                    top = alias.name if alias.asname else alias.name.split(".")[0]
                    mod.imports[alias.asname or top] = (top, None)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                self._load(source)
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    if self._path_of(sub) is not None:
                        self._load(sub)
                        mod.imports[alias.asname or alias.name] = (sub, None)
                    else:
                        mod.imports[alias.asname or alias.name] = (source, alias.name)
        for node in mod.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                mod.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                mod.classes[node.name] = node
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        mod.functions[f"{node.name}.{item.name}"] = item
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        mod.constants[t.id] = node.value

    # --- names ---------------------------------------------------------------------------

    def resolve(self, module: str, expr: ast.expr) -> tuple[str, str | None] | None:
        """What a name or dotted attribute refers to in the closure: (module, None) for a
        module, (module, "f" / "Cls" / "Cls.m") for a definition; None if outside it."""
        if isinstance(expr, ast.Name):
            mod = self.modules[module]
            if expr.id in mod.functions or expr.id in mod.classes:
                return module, expr.id
            bound = mod.imports.get(expr.id)
            if bound is None or bound[0] not in self.modules:
                return None
            if bound[1] is None:
                return bound
            return self._definition(bound[0], bound[1])
        if isinstance(expr, ast.Attribute):
            base = self.resolve(module, expr.value)
            if base is None:
                return None
            if base[1] is None:
                sub = f"{base[0]}.{expr.attr}"
                if sub in self.modules:
                    return sub, None
                return self._definition(base[0], expr.attr)
            if base[1] in self.modules[base[0]].classes:
                name = f"{base[1]}.{expr.attr}"
                return (base[0], name) if name in self.modules[base[0]].functions else None
        return None

    def _definition(self, module: str, name: str, depth: int = 0) -> tuple[str, str | None] | None:
        mod = self.modules.get(module)
        if mod is None or depth > 5:
            return None
        if name in mod.functions or name in mod.classes:
            return module, name
        bound = mod.imports.get(name)  # re-exported
        if bound is not None and bound[0] in self.modules:
            return bound if bound[1] is None else self._definition(bound[0], bound[1], depth + 1)
        return None

    def body(self, unit: Unit) -> list[ast.AST]:
        mod = self.modules[unit.module]
        if not unit.qualname:
            # The top level runs on import: everything but the bodies of functions (their
            # decorators and defaults run too).
            out: list[ast.AST] = []
            for node in mod.tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    out += [*node.decorator_list, *node.args.defaults]
                elif isinstance(node, ast.ClassDef):
                    out += [*node.decorator_list, *node.bases]
                    out += [n for n in node.body if not isinstance(n, ast.FunctionDef)]
                else:
                    out.append(node)
            return out
        return [mod.functions[unit.qualname]]

    # --- reachability --------------------------------------------------------------------

    @functools.cached_property
    def reachable(self) -> set[Unit]:
        seen: set[Unit] = set()
        todo = [Unit(m, "") for m in self.modules] + [self.entry]
        while todo:
            unit = todo.pop()
            if unit in seen:
                continue
            seen.add(unit)
            for node in self.body(unit):
                for sub in ast.walk(node):
                    if isinstance(sub, (ast.Name, ast.Attribute)):
                        todo += self._units_named(unit, sub)
        return seen

    def _units_named(self, unit: Unit, expr: ast.expr) -> list[Unit]:
        target = self.resolve(unit.module, expr)
        if target is None and isinstance(expr, ast.Attribute) and "." in unit.qualname:
            # self.method(...) inside a class
            if isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
                cls = unit.qualname.split(".")[0]
                name = f"{cls}.{expr.attr}"
                if name in self.modules[unit.module].functions:
                    return [Unit(unit.module, name)]
            return []
        if target is None or target[1] is None:
            return []
        module, name = target
        mod = self.modules[module]
        if name in mod.classes:  # a class named: any of its methods may run
            return [Unit(module, q) for q in mod.functions if q.startswith(f"{name}.")]
        return [Unit(module, name)]

    def calls_of(self, target: Unit) -> Iterator[tuple[Unit, ast.Call]]:
        """Every reachable call of `target`."""
        for unit in self.reachable:
            for node in self.body(unit):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Call):
                        hit = self.resolve(unit.module, sub.func)
                        if hit == (target.module, target.qualname):
                            yield unit, sub

    def constructions(self, field_name: str) -> Iterator[tuple[Unit, ast.expr]]:
        """Keyword arguments `field_name=...` of every reachable call of a closure class."""
        for unit in self.reachable:
            for node in self.body(unit):
                for sub in ast.walk(node):
                    if not isinstance(sub, ast.Call):
                        continue
                    hit = self.resolve(unit.module, sub.func)
                    if hit is None or hit[1] not in self.modules[hit[0]].classes:
                        continue
                    for kw in sub.keywords:
                        if kw.arg == field_name:
                            yield unit, kw.value
                    fields = self.fields(hit[0], str(hit[1]))
                    if field_name in fields and fields.index(field_name) < len(sub.args):
                        yield unit, sub.args[fields.index(field_name)]

    def fields(self, module: str, cls: str) -> list[str]:
        """A (data)class's annotated fields in order: its positional constructor arguments."""
        return [
            n.target.id
            for n in self.modules[module].classes[cls].body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
        ]


# --- call sites ------------------------------------------------------------------------


@dataclass(frozen=True)
class CallSite:
    module: str
    function: str  # qualname, "" for the top level
    line: int
    service: str
    operation: str
    action: str
    node: ast.Call = field(compare=False, repr=False)

    @property
    def where(self) -> str:
        return f"{self.module}:{self.function or '<module>'}:{self.operation}"


def _const_str(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def client_services(closure: Closure) -> set[str]:
    """Services the reachable code creates clients for (`client("x")`, `boto3.client("x")`)."""
    found = set()
    for unit in closure.reachable:
        for node in closure.body(unit):
            for sub in ast.walk(node):
                if not isinstance(sub, ast.Call) or not sub.args:
                    continue
                func = sub.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                service = _const_str(sub.args[0])
                if name == "client" and service:
                    found.add(service)
    return found


def call_sites(closure: Closure) -> list[CallSite]:
    services = client_services(closure)
    sites = []
    for unit in sorted(closure.reachable, key=lambda u: (u.module, u.qualname)):
        for node in closure.body(unit):
            for sub in ast.walk(node):
                if not isinstance(sub, ast.Call) or not isinstance(sub.func, ast.Attribute):
                    continue
                if closure.resolve(unit.module, sub.func.value) is not None:
                    continue  # a closure module's or class's own function
                op = sub.func.attr
                if op == "get_paginator":
                    op = _const_str(sub.args[0]) if sub.args else None
                    if op is None:
                        continue
                elif op in NOT_REQUESTS:
                    continue
                if op == "generate_presigned_url":
                    signed = _const_str(_arg(sub, "ClientMethod", 0))
                    matches = [s for s in services if signed in operations(s)] if signed else []
                    op = signed or op
                else:
                    matches = [s for s in services if op in operations(s)]
                if not matches:
                    continue
                service = matches[0] if len(matches) == 1 else "ambiguous:" + "|".join(matches)
                action = iam_action(service, op) if len(matches) == 1 else "?"
                sites.append(
                    CallSite(unit.module, unit.qualname, sub.lineno, service, op, action, sub)
                )
    return sites


def _arg(call: ast.Call, keyword: str, position: int | None = None) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


# --- tracing a value to the environment ---------------------------------------------------

UNRESOLVED = "?"


class Tracer:
    """Traces an expression to the environment variables its value may come from."""

    def __init__(self, closure: Closure, env_names: dict[str, str]) -> None:
        self.closure = closure
        self.env_names = env_names  # the contract's Env member name -> variable name
        self.stops: list[str] = []  # where a trace ended without an answer

    def _stop(self, unit: Unit, expr: ast.expr | None, why: str) -> set[str]:
        text = ast.unparse(expr) if expr is not None else "<missing>"
        self.stops.append(f"{unit.module}:{unit.qualname or '<module>'}: {text} ({why})")
        return {UNRESOLVED}

    def sources(
        self, unit: Unit, expr: ast.expr | None, depth: int = 0, index: int | None = None
    ) -> set[str]:
        """Variable names, or UNRESOLVED where the trace stops. `index`: the element wanted
        of a tuple the expression evaluates to (`a, b = <expr>`)."""
        if expr is None or depth > 12:
            return self._stop(unit, expr, "too deep" if expr is not None else "no argument")
        if index is not None and isinstance(expr, ast.Tuple) and index < len(expr.elts):
            expr, index = expr.elts[index], None
        envs = {
            self.env_names[n.attr]
            for n in ast.walk(expr)
            if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id == "Env"
            and n.attr in self.env_names
        }
        if envs:
            return envs
        if isinstance(expr, ast.Constant) and expr.value is None:
            return set()  # no resource: the code makes no call with it
        if isinstance(expr, ast.IfExp):
            return self.sources(unit, expr.body, depth + 1, index) | self.sources(
                unit, expr.orelse, depth + 1, index
            )
        if isinstance(expr, ast.Name):
            return self._name(unit, expr.id, depth, index)
        if isinstance(expr, ast.Attribute):
            return self._field(expr.attr, depth, index)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
            # `<traced>.get(...)`, `str(<traced>)` stay the traced value's
            if expr.func.attr in ("strip", "lower"):
                return self.sources(unit, expr.func.value, depth + 1)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "str":
            return self.sources(unit, expr.args[0] if expr.args else None, depth + 1)
        if isinstance(expr, ast.Call):
            target = self.closure.resolve(unit.module, expr.func)
            if target is not None and target[1] in self.closure.modules[target[0]].functions:
                return self._returns(Unit(target[0], str(target[1])), depth, index)
        return self._stop(unit, expr, "not traceable")

    def _returns(self, unit: Unit, depth: int, index: int | None = None) -> set[str]:
        """What a closure function returns (its `return` expressions)."""
        fn = self.closure.modules[unit.module].functions[unit.qualname]
        values = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value]
        if not values:
            return self._stop(unit, None, "returns nothing traceable")
        return set().union(*(self.sources(unit, v, depth + 1, index) for v in values))

    def _function(self, unit: Unit) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        if not unit.qualname:
            return None
        return self.closure.modules[unit.module].functions[unit.qualname]

    def _name(self, unit: Unit, name: str, depth: int, index: int | None = None) -> set[str]:
        fn = self._function(unit)
        if fn is not None:
            assigned: list[tuple[ast.expr, int | None]] = []
            for n in ast.walk(fn):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if isinstance(t, ast.Name) and t.id == name:
                            assigned.append((n.value, index))
                        elif isinstance(t, ast.Tuple):
                            for i, elt in enumerate(t.elts):
                                if isinstance(elt, ast.Name) and elt.id == name:
                                    assigned.append((n.value, i))
                elif (
                    isinstance(n, ast.AnnAssign)
                    and isinstance(n.target, ast.Name)
                    and n.target.id == name
                    and n.value is not None
                ):
                    assigned.append((n.value, index))
            if assigned:
                return set().union(*(self.sources(unit, v, depth + 1, i) for v, i in assigned))
            params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]
            if name in params:
                return self._parameter(unit, fn, name, params, depth, index)
        value = self.closure.modules[unit.module].constants.get(name)
        if value is not None:
            return self.sources(Unit(unit.module, ""), value, depth + 1)
        return self._stop(unit, ast.Name(id=name), "not assigned, a parameter or a constant")

    def _parameter(
        self,
        unit: Unit,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        name: str,
        params: list[str],
        depth: int,
        index: int | None,
    ) -> set[str]:
        position = params.index(name)
        if "." in unit.qualname and params and params[0] in ("self", "cls"):
            position -= 1
        found: set[str] = set()
        callers = list(self.closure.calls_of(unit))
        for caller, call in callers:
            value = _arg(call, name, position)
            if value is None:
                default = _default(fn, name)
                found |= (
                    self.sources(unit, default, depth + 1, index)
                    if default
                    else self._stop(caller, call, f"no argument for {name}")
                )
            else:
                found |= self.sources(caller, value, depth + 1, index)
        return found or self._stop(unit, ast.Name(id=name), "a parameter no reachable call passes")

    def _field(self, attr: str, depth: int, index: int | None = None) -> set[str]:
        found: set[str] = set()
        for unit, value in self.closure.constructions(attr):
            found |= self.sources(unit, value, depth + 1, index)
        if not found:
            self.stops.append(f"field {attr}: no reachable construction sets it")
        return found or {UNRESOLVED}


def _default(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    args = fn.args.args
    defaults = fn.args.defaults
    for arg, default in zip(args[len(args) - len(defaults) :], defaults, strict=True):
        if arg.arg == name:
            return default
    for arg, kw_default in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
        if arg.arg == name:
            return kw_default
    return None


@dataclass(frozen=True)
class Need:
    """One (action, resource) a call site needs; `expr` names the resource (None: "*")."""

    action: str
    unit: Unit
    expr: ast.expr | None
    star: bool = False


def needs(site: CallSite, closure: Closure) -> list[Need]:
    """What IAM must allow for one call site, each with the expression naming its resource."""
    unit = Unit(site.module, site.function)
    call = site.node
    if site.service not in RESOURCE_ARGS:
        # No resource-level permissions (e.g. rekognition:DetectModerationLabels): "*".
        return [Need(site.action, unit, None, star=True)]
    names = RESOURCE_ARGS[site.service]
    if call.func.attr == "generate_presigned_url":  # type: ignore[attr-defined]
        return [Need(site.action, unit, _in_dict(closure, unit, _arg(call, "Params", 1), names))]
    if (site.service, site.operation) == ("s3", "copy_object"):
        source = _in_dict(closure, unit, _arg(call, "CopySource"), ("Bucket",))
        return [
            Need("s3:PutObject", unit, _arg(call, "Bucket")),
            Need("s3:GetObject", unit, source),
        ]
    if site.operation in ("batch_get_item", "batch_write_item"):
        items = _arg(call, "RequestItems")
        if isinstance(items, ast.Name):
            items = _local_dict(closure, unit, items.id)
        keys = items.keys if isinstance(items, ast.Dict) else [None]
        return [Need(site.action, unit, k) for k in keys]
    for name in names:
        value = _arg(call, name)
        if value is not None:
            return [Need(site.action, unit, value)]
    for kw in call.keywords:
        if kw.arg is None:
            found = _in_dict(closure, unit, kw.value, names)
            if found is not None:
                return [Need(site.action, unit, found)]
    return [Need(site.action, unit, None)]


def _in_dict(
    closure: Closure, unit: Unit, expr: ast.expr | None, names: tuple[str, ...]
) -> ast.expr | None:
    """The value of the first of `names` in a dict literal (or a local bound to one)."""
    if isinstance(expr, ast.Name):
        expr = _local_dict(closure, unit, expr.id)
    if isinstance(expr, ast.Dict):
        for k, v in zip(expr.keys, expr.values, strict=True):
            if _const_str(k) in names:
                return v
    return None


def index_name(site: CallSite, closure: Closure) -> str | None:
    """The constant IndexName of a DynamoDB call (direct or in a `**kwargs` dict)."""
    unit = Unit(site.module, site.function)
    value = _arg(site.node, "IndexName")
    if value is None:
        for kw in site.node.keywords:
            if kw.arg is None and isinstance(kw.value, ast.Name):
                literal = _local_dict(closure, unit, kw.value.id)
                if literal is not None:
                    for k, v in zip(literal.keys, literal.values, strict=True):
                        if _const_str(k) == "IndexName":
                            value = v
    if value is None:
        return None
    return constant(closure, site.module, value) or UNRESOLVED


def constant(closure: Closure, module: str, expr: ast.expr, depth: int = 0) -> str | None:
    """A string constant, through module-level names and imports."""
    if depth > 5:
        return None
    text = _const_str(expr)
    if text is not None:
        return text
    if isinstance(expr, ast.Name):
        mod = closure.modules[module]
        if expr.id in mod.constants:
            return constant(closure, module, mod.constants[expr.id], depth + 1)
        bound = mod.imports.get(expr.id)
        if bound and bound[1] and bound[0] in closure.modules:
            value = closure.modules[bound[0]].constants.get(bound[1])
            return constant(closure, bound[0], value, depth + 1) if value is not None else None
    return None


def _local_dict(closure: Closure, unit: Unit, name: str) -> ast.Dict | None:
    if not unit.qualname:
        return None
    fn = closure.modules[unit.module].functions[unit.qualname]
    for node in ast.walk(fn):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                if isinstance(node.value, ast.Dict):
                    return node.value
    return None
