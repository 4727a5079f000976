"""The states of a report run and of its deliveries, their French labels, the
timings and the messages a person reads when a run is interrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from data.owned import DeliveryStatus, RunStatus

BACKOFF: Final[tuple[timedelta, ...]] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
)
LATE_AFTER: Final = timedelta(minutes=5)  # later than this after its due time: "sent late"
RUN_TIMEOUT: Final = timedelta(minutes=30)
SENDING_TIMEOUT: Final = timedelta(minutes=10)

RUN_STATUS_LABELS: Final[dict[str, str]] = {
    RunStatus.working: "En cours",
    RunStatus.retrying: "Nouvel essai prévu",
    RunStatus.sent: "Envoyé",
    RunStatus.sent_late: "Envoyé en retard",
    RunStatus.failed: "Échec",
    RunStatus.interrupted: "Interrompu",
    RunStatus.missed: "Manqué",
    RunStatus.skipped: "Rien à signaler",
}
DELIVERY_STATUS_LABELS: Final[dict[str, str]] = {
    DeliveryStatus.pending: "En attente",
    DeliveryStatus.sending: "Envoi en cours",
    DeliveryStatus.sent: "Envoyé",
    DeliveryStatus.retrying: "Nouvel essai prévu",
    DeliveryStatus.failed: "Échec",
    DeliveryStatus.interrupted: "Interrompu",
}
ACTIVE_RUN_STATUSES: Final = (RunStatus.working, RunStatus.retrying)
CHECK_FIRST = "Vérifiez auprès du destinataire avant de renvoyer."
INTERRUPTED_SENDING = (
    "Interrompu pendant l'envoi (arrêt du service) : la réception n'est pas certaine. "
    f"{CHECK_FIRST}"
)
INTERRUPTED_PENDING = "Interrompu avant l'envoi (arrêt du service) : jamais envoyé."
LOST_DURING_HANDOVER = (
    f"Connexion perdue pendant la remise : le destinataire l'a peut-être reçu. {CHECK_FIRST}"
)
UNEXPECTED_DURING_HANDOVER = (
    "Erreur inattendue pendant la remise ({error}) : la réception n'est pas certaine. "
    f"{CHECK_FIRST}"
)
LOST_DATABASE_SENDING = (
    "Interrompu pendant l'envoi (connexion à la base de données perdue) : la réception "
    f"n'est pas certaine. {CHECK_FIRST}"
)
ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class RunOutcome:
    """Where a run stands after a step: its status and its recipients' counts."""

    run_id: int
    status: str
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    interrupted: int = 0
    error: str | None = None
