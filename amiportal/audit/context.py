"""The id of the request being served, for audit entries written deep in services."""

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")
