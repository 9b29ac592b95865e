"""Logging an error without personal data: its kind, where it happened and the stack, but
not its message, which may quote what a person typed (a database error quotes the value
it refused; an API error may quote the message it was given)."""

from __future__ import annotations

import logging

from storage.db import describe, stack


def failed(log: logging.Logger, what: str, exc: BaseException) -> None:
    log.error("%s (%s)\n%s", what, describe(exc), stack(exc))
