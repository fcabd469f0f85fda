"""Domain errors shared by services (pure). The API maps ConflictError to HTTP 409."""

from __future__ import annotations


class ConflictError(Exception):
    """The record changed under the user (a concurrent edit) or is in a state that forbids the action."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
