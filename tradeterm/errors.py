"""Errors a user can act on. The CLI prints ``str(error)`` as one line and exits 2; anything
else that escapes is a bug and is reported as such (still one line, plus a log entry)."""

from __future__ import annotations


class UserError(Exception):
    """A problem with input, config or environment that the user can fix; message is shown as is."""


class ConfigError(UserError):
    """Bad settings: the message names the key and the problem."""


class StoreError(UserError):
    """The database cannot be used (unreachable, wrong schema version, …)."""
