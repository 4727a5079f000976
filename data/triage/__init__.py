"""The secretariat's triage of applications: the queue, one file, the actions.

- :mod:`data.triage.filters`: the queue's filters and their URL form;
- :mod:`data.triage.queue`: the queue, by keyset pages;
- :mod:`data.triage.dossier`: one application's file, history, notes, options;
- :mod:`data.triage.actions`: one write function per action;
- :mod:`data.triage.bulk`: the same over a selection, and "Répartir".

The transition table is :mod:`data.workflow`.
"""

from data.bulk import BulkResult, RowOutcome
from data.triage.actions import (
    NoteResult,
    TriageResult,
    add_note,
    assign_application,
    attach_session,
    move_application,
    refuse_application,
    undo_last_status_change,
)
from data.triage.bulk import (
    Distribution,
    bulk_assign,
    bulk_move,
    bulk_refuse,
    distribute_unassigned,
)
from data.triage.dossier import (
    ApplicationFile,
    FormationChoice,
    SessionOption,
    StaffOption,
    StatusChange,
    application_file,
    application_history,
    application_notes,
    assignable_staff,
    formation_choices,
    session_options,
)
from data.triage.filters import (
    ASSIGNMENTS,
    DEFAULT_FILTERS,
    NO_FUNDING,
    QueueFilters,
    filters_from_params,
    params_from_filters,
)
from data.triage.queue import PAGE_SIZE, Cursor, QueuePage, QueueRow, queue_count, queue_page

__all__ = [
    "ASSIGNMENTS",
    "DEFAULT_FILTERS",
    "NO_FUNDING",
    "PAGE_SIZE",
    "ApplicationFile",
    "BulkResult",
    "Cursor",
    "Distribution",
    "FormationChoice",
    "NoteResult",
    "QueueFilters",
    "QueuePage",
    "QueueRow",
    "RowOutcome",
    "SessionOption",
    "StaffOption",
    "StatusChange",
    "TriageResult",
    "add_note",
    "application_file",
    "application_history",
    "application_notes",
    "assign_application",
    "assignable_staff",
    "attach_session",
    "bulk_assign",
    "bulk_move",
    "bulk_refuse",
    "distribute_unassigned",
    "filters_from_params",
    "formation_choices",
    "move_application",
    "params_from_filters",
    "queue_count",
    "queue_page",
    "refuse_application",
    "session_options",
    "undo_last_status_change",
]
