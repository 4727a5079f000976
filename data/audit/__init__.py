"""The audit trail: who did what, when.

- :mod:`data.audit.writing` — :func:`record`, called inside every write's own
  transaction, so a change and its audit row commit or roll back together;
- :mod:`data.audit.viewing` — the admin's viewers: the audit log and the sign-ins;
- :mod:`data.audit.labels` — the audit rows in words (objects, details), in French.
"""

from data.audit.writing import record

__all__ = ["record"]
