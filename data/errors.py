"""Typed errors of the data layer.

Each carries a French message meant for the user (``user_message``); the
technical detail goes to the log, never to the screen.
"""

from __future__ import annotations


class DashboardError(Exception):
    """Base class: ``str(error)`` is a short French sentence fit for the screen."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class ConfigurationError(DashboardError):
    """A setting is missing or malformed."""


class DatabaseUnavailable(DashboardError):
    """The database cannot be reached or answered with an error."""


class DataRejected(DatabaseUnavailable):
    """The database refused a write (a constraint: duplicate, missing reference):
    nothing was written, and trying again as it is changes nothing."""


class ConnectionLost(DatabaseUnavailable):
    """The connection to the database was lost or refused (worth trying again later),
    as opposed to a statement the database rejected (trying again changes nothing)."""


class NotFound(DashboardError):
    """The row asked for does not exist (any more)."""


class Conflict(DashboardError):
    """Somebody else changed the row since it was displayed."""


class NotAllowed(DashboardError):
    """The acting user may not do this."""


class InvalidInput(DashboardError):
    """The input is malformed or breaks a business rule."""
