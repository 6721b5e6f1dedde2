"""Domain errors. They carry fields; the CLI (and later the API) map them to messages and codes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TriageError(Exception):
    """Base class of every error meant to be shown to a user as one line."""

    def __str__(self) -> str:  # pragma: no cover - subclasses override
        return self.args[0] if self.args else self.__class__.__name__


@dataclass
class DataError(TriageError):
    """Training or test data is malformed or inconsistent."""

    message: str
    path: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        return f"{where}{self.message}"


@dataclass
class ModelError(TriageError):
    """A model directory is missing, corrupt, tampered with or incompatible."""

    message: str
    path: Path | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path is not None else self.message


@dataclass
class EncoderError(TriageError):
    """The configured sentence encoder cannot be loaded or does not match the model."""

    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class SettingsError(TriageError):
    """A TRIAGE_* environment variable holds a value the settings refuse."""

    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class NotFoundError(TriageError):
    """A conversation, ticket or FAQ entry that does not exist (HTTP 404)."""

    what: str
    id: str

    def __str__(self) -> str:
        return f"{self.what} {self.id!r} not found"


@dataclass
class ConflictError(TriageError):
    """The request conflicts with the current state (HTTP 409)."""

    message: str

    def __str__(self) -> str:
        return self.message


class StaleClaimError(ConflictError):
    """A write from a claim that is no longer the ticket's current claim (HTTP 409)."""


class PublishRefused(ConflictError):
    """The golden-set gate refused a content change: it would re-route golden questions."""

    def __init__(self, message: str, broken: list[dict]):
        super().__init__(message)
        self.broken = broken


class Overloaded(TriageError):
    """More work is waiting than the server takes on: try again shortly (503 with Retry-After)."""
