"""Équipe: staff accounts, their role and last sign-in; deactivate, reactivate, change role."""

from collections.abc import Callable

import streamlit as st

from data import formatting as fmt
from data import team
from data.errors import DashboardError
from data.models import STAFF_ROLES
from data.permissions import ROLE_LABELS
from ui import state
from ui.components import empty_state, guarded, show_error
from ui.exports import dated_stem, download_buttons
from ui.notices import push_notice, show_notices
from ui.session import require_page

actor = require_page("pages/team.py")
P = "team"
st.title("Équipe")
show_notices(P)


def _apply(change: str, **kwargs: object) -> None:
    """Run one write; on success remember a message and redraw with fresh data."""
    writes: dict[str, tuple[Callable[..., object], str]] = {
        "deactivate": (team.deactivate_account, "Compte désactivé ; ses sessions sont fermées."),
        "reactivate": (team.reactivate_account, "Compte réactivé."),
        "role": (team.change_role, "Rôle modifié ; il s'applique dès la prochaine action."),
    }
    write, message = writes[change]
    try:
        write(state.engine(), actor=actor, **kwargs)
    except DashboardError as exc:
        show_error(exc)
        return
    push_notice(P, "success", message)
    st.rerun()


with guarded(retry_key="team_retry"):
    accounts = team.staff_accounts(state.engine())
    if accounts.empty:
        empty_state("Aucun compte du personnel.")
        st.stop()
    tz = state.settings().tz
    table = accounts.assign(
        last=[fmt.timestamp(value, tz) for value in accounts["last_sign_in"]],
        statut=["Actif" if value else "Désactivé" for value in accounts["actif"]],
    )[["nom", "prenom", "email", "role_label", "statut", "last"]]
    table.columns = ["Nom", "Prénom", "Adresse e-mail", "Rôle", "Statut", "Dernière connexion"]
    st.dataframe(table, hide_index=True, width="stretch")
    download_buttons(table, title="Équipe", file_stem=dated_stem("equipe"), key="team")

    st.header("Modifier un compte")
    by_id = {int(row.id): row for row in accounts.itertuples(index=False)}
    names = {user_id: f"{row.nom} {row.prenom} — {row.email}" for user_id, row in by_id.items()}
    chosen = st.selectbox(
        "Compte",
        list(by_id),
        index=None,
        placeholder="Choisissez un compte…",
        format_func=names.__getitem__,
        key="team_account",
    )
    if chosen is None:
        st.stop()
    row = by_id[chosen]
    left, right = st.columns(2)
    with left:
        role = st.selectbox(
            "Rôle",
            list(STAFF_ROLES),
            index=list(STAFF_ROLES).index(row.role),
            format_func=ROLE_LABELS.__getitem__,
            key=f"team_role_{chosen}",
        )
        if st.button("Changer le rôle", key="team_change_role", disabled=role == row.role):
            _apply("role", user_id=chosen, role=role)
    with right:
        if chosen == actor.id:
            st.caption("Votre propre compte ne peut pas être désactivé d'ici.")
        elif row.actif:
            if st.button("Désactiver le compte", key="team_deactivate", icon=":material/block:"):
                _apply("deactivate", user_id=chosen)
        elif st.button("Réactiver le compte", key="team_reactivate"):
            _apply("reactivate", user_id=chosen)
