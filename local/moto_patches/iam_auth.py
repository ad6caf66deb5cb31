"""IAM enforcement in the local cloud: each function's requests are authorized against its role.

moto can evaluate identity policies (`INITIAL_NO_AUTH_ACTION_COUNT`), but out of the box
not the way AWS does for this pipeline: it checks DynamoDB, SNS, Logs and Lambda calls
against resource `"*"` (so every ARN-scoped statement is denied), names batch and
CloudWatch actions wrongly, answers JSON services with an XML 403, refuses body-less
rest-json requests, answers presigned URLs with a 500 and crashes on `Service`
principals in trust policies. These patches correct exactly that:

- the real resource ARN for DynamoDB (table, index, stream; per table for batch and
  transaction calls, with the actions AWS authorizes them as), SNS, Logs, Lambda and
  Secrets Manager;
- the action names IAM uses (`sqs:SendMessageBatch` is `sqs:SendMessage`,
  `sns:PublishBatch` is `sns:Publish`, `monitoring:*` is `cloudwatch:*`, HeadBucket is
  `s3:ListBucket`);
- `AccessDeniedException` as JSON with AWS's status for JSON-protocol services;
- the signature of body-less requests and of S3 keys with encoded characters, presigned
  S3 URLs (authorized as their signer),
  and trust policies with service principals;
- the local cloud's own key (`local`: the orchestrator, the CLI, the dashboard) is not
  checked, like an administrator's.

What moto still does not evaluate (docs/local-cloud.md lists it): policy conditions (all
count as met), `NotResource`, resource policies (bucket, queue, topic, key policies,
Lambda permissions), session policies, permission boundaries and credential expiry.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlparse

# Requests signed with these access keys are the local cloud's own and are not checked.
ADMIN_KEYS = frozenset({"local"})
_JSON_SERVICES = {
    "dynamodb",
    "logs",
    "kms",
    "secretsmanager",
    "rekognition",
    "events",
    "lambda",
    "scheduler",
    "monitoring",
    "sqs",
}
_403_SERVICES = {"lambda", "scheduler"}
ALIASES = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sns:PublishBatch": "sns:Publish",
    "s3:HeadBucket": "s3:ListBucket",
}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def enforce(on: bool) -> None:
    """Turn enforcement on (every request after this is checked) or off."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")
    ActionAuthenticatorMixin.request_count = 0


def enforced() -> bool:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    return bool(ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT)


def access_key_of(headers: Any, query: str) -> str:
    auth = headers.get("Authorization", "") if headers else ""
    if auth:
        return str(auth.partition("Credential=")[2].partition("/")[0])
    q = parse_qs(query)
    credential = q.get("X-Amz-Credential", q.get("AWSAccessKeyId", [""]))[0]
    return credential.partition("/")[0]


def _json_body(handler: Any) -> dict[str, Any]:
    body = handler.body
    if isinstance(body, dict):
        return body
    try:
        parsed = json.loads(body or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _dynamodb_checks(handler: Any) -> list[tuple[str, str]]:
    """(action, resource ARN) pairs AWS authorizes one DynamoDB request as."""
    body = _json_body(handler)

    def arn(table: str) -> str:
        if table.startswith("arn:"):
            return table
        return f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{table}"

    action = handler._get_action()
    if action in ("BatchWriteItem", "BatchGetItem"):
        return [(action, arn(t)) for t in body.get("RequestItems", {})]
    if action in ("TransactWriteItems", "TransactGetItems"):
        return [
            (_TRANSACT_ACTIONS[kind], arn(spec["TableName"]))
            for item in body.get("TransactItems", [])
            for kind, spec in item.items()
        ]
    if "StreamArn" in body:
        return [(action, body["StreamArn"])]
    table = body.get("TableName")
    if not table:
        return [(action, "*")]
    resource = arn(table)
    if body.get("IndexName"):
        resource += f"/index/{body['IndexName']}"
    return [(action, resource)]


def authorize_request(
    *,
    account: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    action: str,
    resource: str,
) -> tuple[int, str, str] | None:
    """Authorize a request the local endpoint answers itself (Invoke, DetectModerationLabels).

    None when allowed (or not enforced); else (status, content type, body) of the denial.
    """
    if not enforced() or access_key_of(headers, "") in ADMIN_KEYS:
        return None
    from moto.core.exceptions import JsonRESTError
    from moto.iam.access_control import IAMRequest

    request = IAMRequest(
        account_id=account,
        method=method,
        path=path,
        data={},
        body=body,
        headers=headers,
        action=action,
    )
    try:
        request.check_signature()
        request.check_action_permitted(resource)
    except JsonRESTError as exc:
        return exc.code, "application/json", exc.get_body()
    except Exception as exc:  # noqa: BLE001 - moto's XML _RESTError family: answered as AWS would
        if not hasattr(exc, "get_body"):
            raise
        return int(getattr(exc, "code", 403)), "text/xml", exc.get_body()
    return None


def _install() -> None:
    from botocore.awsrequest import AWSRequest
    from moto.awslambda.responses import LambdaResponse
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam import access_control as ac
    from moto.logs.responses import LogsResponse
    from moto.sns.responses import SNSResponse

    class AccessDenied(JsonRESTError):
        code = 400

    class AccessDenied403(JsonRESTError):
        code = 403

    # Action names as IAM has them.
    original_init = ac.IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._action = ALIASES.get(self._action, self._action)
        if self._action.startswith("monitoring:"):
            self._action = "cloudwatch:" + self._action.split(":", 1)[1]

    ac.IAMRequestBase.__init__ = init

    # JSON services deny with a JSON AccessDeniedException, as AWS does.
    original_denied = ac.IAMRequest._raise_access_denied

    def denied(self: Any) -> None:
        if self._service in _JSON_SERVICES:
            cls = AccessDenied403 if self._service in _403_SERVICES else AccessDenied
            raise cls(
                "AccessDeniedException",
                f"User: {self._access_key.arn} is not authorized to perform: {self._action}",
            )
        original_denied(self)

    ac.IAMRequest._raise_access_denied = denied

    # The signature of a body-less request is computed over the empty body.
    def create_aws_request(self: Any) -> Any:
        signed = self._get_string_between(
            "SignedHeaders=", ",", self._headers["Authorization"]
        ).split(";")
        headers = self._create_headers_for_aws_request(signed, self._headers)
        body = self._body
        if not body:
            body = b"" if self._method in ("GET", "HEAD", "DELETE") else self._data
        url = self._path
        if self._service == "s3":
            # moto hands over the decoded path; S3's canonical URI is the encoded one the
            # client signed (a key like `jobs/dt=2026-01-01/...` has its `=` encoded).
            path, sep, query = url.partition("?")
            url = quote(unquote(path), safe="/~") + sep + query
        request = AWSRequest(method=self._method, url=url, data=body, headers=headers)
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    ac.IAMRequestBase._create_aws_request = create_aws_request

    # A `Service` principal in a trust policy is not an IAM caller (it crashed AssumeRole).
    def check_principal(self: Any, principal: Any) -> bool:
        expected = self._statement.get("Principal")
        if not expected or expected == "*":
            return True
        aws = expected.get("AWS") if isinstance(expected, dict) else None
        if aws is None:
            return False
        return bool(aws == "*" or principal == aws or principal in aws)

    ac.IAMPolicyStatement._check_principal = check_principal

    # The local cloud's own key is not checked; presigned URLs are authorized as their signer.
    original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self: Any, iam_request_cls: Any, resource: str = "*") -> Any:
        if not enforced():
            return original_authorize(self, iam_request_cls, resource)
        query = urlparse(self.uri).query
        if "Authorization" not in self.headers and not query:
            qs = getattr(self, "querystring", None) or {}
            query = urlencode({k: v[0] if isinstance(v, list) else v for k, v in qs.items()})
        if access_key_of(self.headers, query) in ADMIN_KEYS:
            return None
        if "Authorization" not in self.headers and (
            "X-Amz-Credential" in query or "AWSAccessKeyId" in query
        ):
            return _presigned(self, iam_request_cls, resource, query)
        return original_authorize(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize

    def _presigned(self: Any, iam_request_cls: Any, resource: str, query: str) -> None:
        q = {k.lower(): v[0] for k, v in parse_qs(query).items()}
        if "x-amz-credential" in q:
            scope = q["x-amz-credential"]
        else:  # SigV2 query authentication
            scope = f"{q['awsaccesskeyid']}/19700101/{self.region}/s3/aws4_request"
        headers = {
            "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=x"
        }
        if "x-amz-security-token" in q:
            headers["X-Amz-Security-Token"] = q["x-amz-security-token"]
        request = iam_request_cls(
            account_id=self.current_account,
            method=self.method,
            path=self.raw_path,
            data=self.data,
            body=self.raw_body,
            headers=headers,
            action=self._get_action(),
        )
        # moto's S3 verifies no query-string signature either: authorize the signer only.
        request.check_action_permitted(resource)

    # Resources: the ARNs AWS authorizes against, not "*".
    def dynamodb_authorize(self: Any, resource: str = "*") -> None:
        for action, arn in _dynamodb_checks(self):
            original_get_action = self._get_action
            self._get_action = lambda action=action: action
            try:
                ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, arn)
            finally:
                self._get_action = original_get_action

    DynamoHandler._authenticate_and_authorize_normal_action = dynamodb_authorize
    try:
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

        DynamoDBStreamsHandler._authenticate_and_authorize_normal_action = dynamodb_authorize
    except ImportError:
        pass

    def sns_resource(self: Any) -> str:
        for name in ("TopicArn", "TargetArn", "ResourceArn", "SubscriptionArn"):
            value = self.querystring.get(name)
            if value:
                return str(value[0])
        return "*"

    SNSResponse._determine_resource = sns_resource

    def logs_resource(self: Any) -> str:
        body = _json_body(self)
        group = body.get("logGroupName")
        if not group:
            return "*"
        base = f"arn:aws:logs:{self.region}:{self.current_account}:log-group:{group}"
        stream = body.get("logStreamName")
        return f"{base}:log-stream:{stream}" if stream else f"{base}:*"

    LogsResponse._determine_resource = logs_resource

    def lambda_resource(self: Any) -> str:
        path = urlparse(self.uri).path.split("/")
        name = path[path.index("functions") + 1] if "functions" in path[:-1] else ""
        if not name:
            return "*"
        if name.startswith("arn:"):
            return name
        return f"arn:aws:lambda:{self.region}:{self.current_account}:function:{name}"

    LambdaResponse._determine_resource = lambda_resource

    from moto.secretsmanager.responses import SecretsManagerResponse

    def secret_resource(self: Any) -> str:
        secret = _json_body(self).get("SecretId")
        if not isinstance(secret, str):
            return "*"
        if secret.startswith("arn:"):
            return secret
        # A secret named without its ARN (as `moderation:dsa.tokenSecret` is): the policy
        # names its ARN (`<name>-*`), so authorize against the stored secret's ARN.
        from moto.secretsmanager.exceptions import SecretNotFoundException

        try:
            return str(self.backend.describe_secret(secret).arn)
        except SecretNotFoundException:
            return "*"  # authorized as any secret; moto then answers its own not-found

    SecretsManagerResponse._determine_resource = secret_resource


_installed = False


def install() -> None:
    """Apply the corrections (once per process); enforcement itself is `enforce(True)`."""
    global _installed
    if not _installed:
        _install()
        _installed = True
