"""Alerts and the notification centre: rules, one lifecycle, notices per user.

- :mod:`data.alerts.lifecycle`: the state machine (pure).
- :mod:`data.alerts.rules`: the rules, each a named read returning subjects.
- :mod:`data.alerts.evaluate`: the scheduler's evaluation, transitions claimed once.
- :mod:`data.alerts.centre`: what a user reads and does (notices, acknowledge,
  snooze, preferences) and what admin and direction change (thresholds, pause,
  KPI goal lines).
"""
