"""The exceptions of jsafe: one hierarchy under :class:`Error`, each carrying
the ``jsafe`` command's exit code for the same failure and its one-line
message."""

from __future__ import annotations

__all__ = [
    "Error",
    "LockTimeout",
    "InvalidInput",
    "Corrupt",
    "NotFound",
    "Untouched",
    "ChangedNotDurable",
    "FilterHalted",
]


class Error(Exception):
    """A jsafe failure. ``exit_code`` is what the ``jsafe`` command exits
    with for it; ``message`` the one line it prints."""

    exit_code: int
    message: str

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class LockTimeout(Error):
    """The file's lock was not granted within the timeout (exit 3); or a
    change was asked for under a shared lock. Nothing was changed."""


class InvalidInput(Error):
    """Bad input: a value that is not JSON, a merge patch that is not an
    object, a filter that does not compile or fails (exit 4). Nothing was
    changed."""


class Corrupt(Error):
    """The file is not valid JSON and the call needs its content (exit 5).
    Nothing was changed; ``recover=True`` or ``jsafe.restore`` repairs it."""


class NotFound(Error):
    """A missing file without a default, or no such backup (exit 6)."""


class Untouched(Error):
    """An I/O error or a refused file (permission, disk full, not a regular
    file, ...): nothing was changed (exit 7)."""


class ChangedNotDurable(Error):
    """The new version IS in place, but could not be confirmed durable (a
    directory fsync failed after the rename); exit 8. Do not retry blindly:
    the change would be applied twice."""


class FilterHalted(Error):
    """The filter of ``update`` called ``halt`` or ``halt_error``; nothing
    was written. ``exit_code`` is 10 for ``halt``/``halt_error(0)``, else
    the code given to ``halt_error``, as the command exits."""
