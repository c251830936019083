"""The safe fetch-and-verify engine every linkback protocol shares."""

from linkbridge.verify.fetcher import (
    FetchError,
    FetchResult,
    SafeFetcher,
    SourceMissingError,
    SourceRefusedError,
    SourceUnreachableError,
)
from linkbridge.verify.guard import AddressPolicy, AddressRefusedError, GuardedResolver
from linkbridge.verify.links import LinkReport, inspect
from linkbridge.verify.outcome import MentionType, OutcomeKind, SourceFields, VerifyOutcome
from linkbridge.verify.verifier import Verifier

__all__ = [
    "AddressPolicy",
    "AddressRefusedError",
    "FetchError",
    "FetchResult",
    "GuardedResolver",
    "LinkReport",
    "MentionType",
    "OutcomeKind",
    "SafeFetcher",
    "SourceFields",
    "SourceMissingError",
    "SourceRefusedError",
    "SourceUnreachableError",
    "Verifier",
    "VerifyOutcome",
    "inspect",
]
