"""Turn AWS and connection errors into an explanation an operator can act on.

Pages never show a stack trace: every read goes through `explain`, which names what
was refused or missing and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
}
MISSING = {
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NoSuchBucket",
    "NoSuchKey",
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}


@dataclass(frozen=True)
class Problem:
    """Why a read failed: a kind the page can branch on and a sentence for the operator."""

    kind: str  # no_permission | not_found | no_credentials | unreachable | throttled | error
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class ProblemError(RuntimeError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def explain(exc: BaseException, what: str = "the request") -> Problem:
    if isinstance(exc, ProblemError):
        return exc.problem
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        op = getattr(exc, "operation_name", "") or "the call"
        detail = error.get("Message") or code
        if code in DENIED or "AccessDenied" in code:
            return Problem(
                "no_permission",
                f"No permission for {what}: {op} was refused ({code}).",
                "The credentials in use need read access to this stack's resources; "
                "the README lists them (Dashboard, Permissions).",
            )
        if code in MISSING or code.endswith("NotFound") or code.endswith("NotFoundException"):
            return Problem(
                "not_found",
                f"{what[:1].upper()}{what[1:]} refers to something that does not exist: {detail}.",
                "Is the stack deployed in this account and region, and are the outputs current?",
            )
        if code in THROTTLED:
            return Problem(
                "throttled", f"AWS throttled {what} ({op}).", "Refresh in a few seconds."
            )
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return Problem("error", f"{op} failed for {what}: {code or status}: {detail}"[:500])
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return Problem(
            "no_credentials",
            "No AWS credentials were found.",
            "Set AWS_PROFILE or pick a profile in the sidebar (`aws configure` creates one).",
        )
    if isinstance(exc, ProfileNotFound):
        return Problem("no_credentials", f"{exc}.", "Pick a profile that exists in ~/.aws/config.")
    if isinstance(exc, NoRegionError):
        return Problem("error", "No AWS region is set.", "Choose a region in the sidebar.")
    if isinstance(
        exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionError)
    ):
        return Problem(
            "unreachable",
            f"Could not reach the endpoint for {what}: {exc}.",
            "For the local cloud: is it still running (`python -m local status`)?",
        )
    return Problem(
        "error", f"{what[:1].upper()}{what[1:]} failed: {type(exc).__name__}: {exc}"[:500]
    )
