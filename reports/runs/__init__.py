"""One run of a report schedule: claim, build, deliver, retry, finish.

The guarantees, in the order things happen:

1. **Claim.** A run is an INSERT into ``dashboard_report_runs`` under the
   unique key ``(schedule_id, due_at)``, committed on its own before anything
   is built or sent. Whoever does not get the row does nothing: a restart or a
   second scheduler can never send the same run twice.
2. **Before and after each send.** Each recipient has a delivery row. It is
   set to ``sending`` (committed) *before* the SMTP call and to ``sent``,
   ``retrying`` or ``failed`` after it. A delivery found in ``sending`` later
   means the process died in between: it becomes ``interrupted``, shown for a
   person to check and resend, and is never resent automatically.
   A *live* process that loses the database mid-run keeps what it knows
   (:mod:`reports.inhand`) and resumes the run itself at its next step:
   outcomes it could not write are written, recipients never handed over
   are sent.
3. **Retries.** A temporary SMTP failure is retried after 1, 5 and 15
   minutes, then the recipient is ``failed``; a permanent one (address
   refused) fails at once. A resend targets only failed or interrupted
   recipients, never one already served.
4. **Lateness is decided at each hand-over**: a message that leaves more
   than :data:`LATE_AFTER` after its due time says so (subject and body),
   and its run ends ``sent_late``.
5. **Stop between recipients**: when asked to stop, the hand-over in
   progress finishes and is recorded; the recipients not yet served are
   marked ``interrupted`` (never sent) and the run ends ``interrupted``.
6. **Every run ends visible**: ``sent``, ``sent_late``, ``failed``,
   ``interrupted``, ``missed`` or ``skipped`` (nothing to report); a run left
   ``working`` past :data:`RUN_TIMEOUT` becomes ``interrupted``. The owner is
   told of a failed or interrupted run, once.

The package, in the order of a run: :mod:`~reports.runs.states` (statuses,
labels, timings, the interrupted messages), :mod:`~reports.runs.claim` (claim
and build), :mod:`~reports.runs.delivery` (hand-overs, retries, finish, the
owner's alert) and :mod:`~reports.runs.recovery` (interrupted work made visible).
"""

from reports.runs.claim import claim_run, finish_run, stored_files, worker_name
from reports.runs.delivery import (
    alert_owner,
    deliver_run,
    execute_run,
    finalize_run,
    process_retries,
)
from reports.runs.recovery import interrupt_doubtful, recover
from reports.runs.states import (
    ACTIVE_RUN_STATUSES,
    DELIVERY_STATUS_LABELS,
    INTERRUPTED_PENDING,
    INTERRUPTED_SENDING,
    LATE_AFTER,
    LOST_DURING_HANDOVER,
    RUN_STATUS_LABELS,
    RUN_TIMEOUT,
    RunOutcome,
    ShouldStop,
)

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "DELIVERY_STATUS_LABELS",
    "INTERRUPTED_PENDING",
    "INTERRUPTED_SENDING",
    "LATE_AFTER",
    "LOST_DURING_HANDOVER",
    "RUN_STATUS_LABELS",
    "RUN_TIMEOUT",
    "RunOutcome",
    "ShouldStop",
    "alert_owner",
    "claim_run",
    "deliver_run",
    "execute_run",
    "finalize_run",
    "finish_run",
    "interrupt_doubtful",
    "process_retries",
    "recover",
    "stored_files",
    "worker_name",
]
