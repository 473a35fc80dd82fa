"""Application errors raised by services and permission checks, translated to HTTP in one place
(``orchestra_site.api``) so that no service imports HTTP concepts.

Every error renders as ``{"detail": <message>, "code": <code>, **extra}``.
"""


class ApplicationError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **extra):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra

    def as_dict(self) -> dict:
        return {"detail": self.message, "code": self.code, **self.extra}


class NotFound(ApplicationError):
    """Missing and forbidden look the same to the caller, so ids cannot be probed."""

    status = 404
    code = "not_found"


class Forbidden(ApplicationError):
    status = 403
    code = "forbidden"


class InvalidInput(ApplicationError):
    """Bad input that the schema could not catch; ``field`` names the offending field."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, *, field: str, **extra):
        super().__init__(message, field=field, **extra)
        self.field = field

    def as_dict(self) -> dict:
        """As a schema error's body: ``field`` names it, and ``errors`` lists it (the only one)."""
        return {**super().as_dict(), "errors": [{"field": self.field, "detail": self.message, "code": self.code}]}


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class ProposalAlreadyDecided(Conflict):
    """The proposal left ``pending`` before this decision; ``decided_by`` names who got there first."""

    code = "already_decided"


class ImmutableRecord(Conflict):
    """A decided proposal or a cast vote was to be changed or deleted: the record of a decision is
    kept as it was taken (admin, API and the ORM's ordinary paths all refuse)."""

    code = "immutable"


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **extra):
        super().__init__(message, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
