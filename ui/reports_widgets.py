"""Pieces of the "Rapports" page: on-demand generation, schedule form, run history.

Text from the database (schedule names, recipients, SMTP errors) is only ever
shown through dataframes, ``st.text`` or widget values, never as markdown.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd
import streamlit as st

from data import formatting as fmt
from data.labels import CENTRE_TIMEZONES, timezone_choice_label, timezone_clause
from data.periods import (
    PERIOD_LABELS,
    PRESET_LABELS,
    SCHEDULE_PERIODS,
    Period,
    custom_period,
    preset_period,
)
from data.settings import Settings
from reports.builders import KIND_LABELS, build_report
from reports.history import run_deliveries, run_files, run_history
from reports.pdf import render_pdf
from reports.render import write_report_workbook
from reports.schedules import (
    FORMATS,
    FREQUENCIES,
    FREQUENCY_LABELS,
    MAX_MONTHDAY,
    WEEKDAY_LABELS,
    ScheduleInput,
    ScheduleView,
    describe_recurrence,
    next_run_at,
    split_recipients,
)
from ui import cache, state
from ui.exports import dated_stem, download_buttons

KEY: Final = "rapports"  # prefix of this page's session-state keys
ALL: Final = "__all__"
FORMAT_LABELS: Final = {"pdf": "PDF", "xlsx": "Excel"}
ON_DEMAND_PRESETS: Final = ("mois-dernier", "ce-mois", "ce-trimestre", "annee", "12-mois", "perso")
MIME: Final = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Generated:
    """A report built on demand, kept in the session for its download buttons."""

    title: str
    stem: str
    pdf: bytes
    xlsx: bytes


def formation_choice(label: str, key: str, current: str | None = None) -> str | None:
    """A formation selectbox ("Toutes les formations" first); returns a slug or None."""
    options = cache.cached_formation_options(state.settings().database_url)
    titles = {o.slug: o.titre for o in options}
    slugs = [ALL, *titles]
    index = slugs.index(current) if current in slugs else 0
    chosen = st.selectbox(
        label,
        slugs,
        index=index,
        key=key,
        format_func=lambda slug: "Toutes les formations" if slug == ALL else titles[slug],
    )
    return None if chosen == ALL else chosen


def _period_choice(kind: str, today: date) -> Period:
    if kind == "qualiopi":
        year = st.number_input(
            "Année",
            min_value=2000,
            max_value=today.year,
            value=today.year - 1,
            step=1,
            key=f"{KEY}_year",
        )
        return Period(date(int(year), 1, 1), date(int(year) + 1, 1, 1))
    preset = st.selectbox(
        "Période", ON_DEMAND_PRESETS, format_func=PRESET_LABELS.__getitem__, key=f"{KEY}_preset"
    )
    if preset != "perso":
        period = preset_period(preset, today)
        st.caption(f"Du {fmt.day(period.start)} au {fmt.day(period.last_day)}")
        return period
    first = preset_period("mois-dernier", today)
    start = st.date_input("Du", value=first.start, format="DD/MM/YYYY", key=f"{KEY}_from")
    last = st.date_input("Au (inclus)", value=first.last_day, format="DD/MM/YYYY", key=f"{KEY}_to")
    return custom_period(start, last + timedelta(days=1))  # InvalidInput: a French message


def generate(kind: str, period: Period, formation: str | None) -> Generated:
    """Build the report and render it as PDF and Excel, with a progress indicator."""
    settings = state.settings()
    with st.status("Génération du rapport…", expanded=False) as status:
        st.write("Calcul des indicateurs…")
        report = build_report(
            state.analytics(),
            settings,
            kind=kind,
            period=period,
            formation=formation,
            now=datetime.now(UTC),
        )
        st.write("Mise en page du PDF…")
        pdf = io.BytesIO()
        render_pdf(report, pdf, tz=settings.tz)
        st.write("Écriture du classeur Excel…")
        xlsx = io.BytesIO()
        write_report_workbook(report, xlsx, settings.tz)
        status.update(label="Rapport prêt.", state="complete")
    return Generated(report.title, report.file_stem(), pdf.getvalue(), xlsx.getvalue())


def on_demand_section(today: date) -> None:
    st.header("Rapport à la demande")
    columns = st.columns([2, 2, 2])
    with columns[0]:
        kind = st.selectbox(
            "Rapport", list(KIND_LABELS), format_func=KIND_LABELS.__getitem__, key=f"{KEY}_kind"
        )
    with columns[1]:
        period = _period_choice(kind, today)
    with columns[2]:
        formation = formation_choice("Formation", f"{KEY}_formation")
    if st.button("Générer", type="primary", icon=":material/play_arrow:", key=f"{KEY}_generate"):
        st.session_state[f"{KEY}_generated"] = generate(kind, period, formation)
    generated: Generated | None = st.session_state.get(f"{KEY}_generated")
    if generated is None:
        return
    left, right = st.columns(2)
    left.download_button(
        "Télécharger le PDF",
        generated.pdf,
        file_name=f"{generated.stem}.pdf",
        mime=MIME["pdf"],
        icon=":material/picture_as_pdf:",
        key=f"{KEY}_dl_pdf",
    )
    right.download_button(
        "Télécharger le fichier Excel",
        generated.xlsx,
        file_name=f"{generated.stem}.xlsx",
        mime=MIME["xlsx"],
        icon=":material/table_view:",
        key=f"{KEY}_dl_xlsx",
    )


# --- Schedules -----------------------------------------------------------------------


def schedules_table(schedules: tuple[ScheduleView, ...], tz: ZoneInfo) -> pd.DataFrame:
    """The schedules; every time says its zone (the next sending, in the app's zone)."""
    now = datetime.now(UTC)
    next_header = f"Prochain envoi ({timezone_clause(str(tz))})"
    rows = [
        {
            "Nom": s.name,
            "Rapport": KIND_LABELS.get(s.kind, s.kind),
            "Récurrence": describe_recurrence(s),
            next_header: fmt.timestamp(next_run_at(s, now), tz) if not s.paused else "—",
            "Destinataires": ", ".join(s.recipients),
            "État": "En pause" if s.paused else "Active",
        }
        for s in schedules
    ]
    return pd.DataFrame(
        rows, columns=["Nom", "État", "Rapport", "Récurrence", next_header, "Destinataires"]
    )


def _default_spec(settings: Settings) -> ScheduleInput:
    return ScheduleInput(
        name="",
        kind="monthly",
        formats=FORMATS,
        frequency="monthly",
        time_of_day="07:00",
        timezone=settings.TIMEZONE,
        period="previous_month",
        recipients=(),
        weekday=0,
        monthday=1,
    )


def _select(label: str, options: list[Any], current: Any, labels: dict[Any, str], key: str) -> Any:
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, format_func=labels.__getitem__, key=key)


def schedule_form(view: ScheduleView | None, settings: Settings) -> ScheduleInput | None:
    """The create/edit form; returns what was submitted (validated by the data layer)."""
    spec = view.spec() if view else _default_spec(settings)
    k = f"{KEY}_f{view.id if view else 'new'}"
    others = sorted(available_timezones() - set(CENTRE_TIMEZONES))
    zones = [*CENTRE_TIMEZONES, *others]
    with st.form(k):
        name = st.text_input("Nom", value=spec.name, max_chars=120, key=f"{k}_name")
        a, b = st.columns(2)
        with a:
            kind = _select("Rapport", list(KIND_LABELS), spec.kind, KIND_LABELS, f"{k}_kind")
            formats = st.multiselect(
                "Formats",
                list(FORMATS),
                default=list(spec.formats),
                format_func=FORMAT_LABELS.__getitem__,
                placeholder="Choisissez PDF, Excel ou les deux",
                key=f"{k}_formats",
            )
            period = _select(
                "Période couverte",
                list(SCHEDULE_PERIODS),
                spec.period,
                PERIOD_LABELS,
                f"{k}_period",
            )
            formation = formation_choice("Formation", f"{k}_formation", spec.formation_slug)
        with b:
            frequency = _select(
                "Récurrence", list(FREQUENCIES), spec.frequency, FREQUENCY_LABELS, f"{k}_freq"
            )
            days = dict(enumerate(d.capitalize() for d in WEEKDAY_LABELS))
            weekday = _select(
                "Jour de la semaine (envoi hebdomadaire)",
                list(days),
                spec.weekday or 0,
                days,
                f"{k}_weekday",
            )
            monthday = st.number_input(
                "Jour du mois (envoi mensuel)",
                min_value=1,
                max_value=MAX_MONTHDAY,
                value=spec.monthday or 1,
                step=1,
                key=f"{k}_monthday",
            )
            time_of_day = st.text_input("Heure (HH:MM)", value=spec.time_of_day, key=f"{k}_time")
            zone = st.selectbox(
                "Fuseau horaire",
                zones,
                index=zones.index(spec.timezone) if spec.timezone in zones else 0,
                format_func=timezone_choice_label,
                key=f"{k}_tz",
            )
        recipients = st.text_area(
            "Destinataires (séparés par des virgules ou des retours à la ligne)",
            value="\n".join(spec.recipients),
            key=f"{k}_recipients",
        )
        only = st.checkbox(
            "Envoyer seulement s'il y a quelque chose à signaler",
            value=spec.only_if_content,
            key=f"{k}_only",
        )
        if not st.form_submit_button("Enregistrer", type="primary", icon=":material/save:"):
            return None
    return ScheduleInput(
        name=name,
        kind=kind,
        formats=tuple(formats),
        frequency=frequency,
        time_of_day=time_of_day,
        timezone=zone,
        period=period,
        recipients=split_recipients(recipients),
        weekday=int(weekday),
        monthday=int(monthday),
        formation_slug=formation,
        only_if_content=only,
    )


# --- Run history ---------------------------------------------------------------------


def _when(value: Any, tz: ZoneInfo) -> str:
    return fmt.timestamp(None if pd.isna(value) else value, tz)


def runs_table(runs: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    triggers = {"manual": "Manuel", "schedule": "Planifié"}
    return pd.DataFrame(
        {
            "Envoi": runs["id"],
            "Prévu le": [_when(v, tz) for v in runs["due_at"]],
            "Déclenchement": [triggers.get(t, "Planifié") for t in runs["trigger"]],
            "État": runs["status_label"],
            "Période": [
                "—" if pd.isna(a) else f"{fmt.day(a)} – {fmt.day(b - timedelta(days=1))}"
                for a, b in zip(runs["period_from"], runs["period_to"], strict=True)
            ],
            "Destinataires": runs["recipients"],
            "Envoyés": runs["sent"],
            "En échec": runs["failed"],
            "Terminé le": [_when(v, tz) for v in runs["finished_at"]],
            "Erreur": runs["error"].fillna(""),
        }
    )


def deliveries_table(deliveries: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Destinataire": deliveries["recipient"],
            "État": deliveries["status_label"],
            "Tentatives": deliveries["attempts"],
            "Prochain essai": [_when(v, tz) for v in deliveries["next_attempt_at"]],
            "Erreur SMTP": deliveries["last_error"].fillna(""),
            "Envoyé le": [_when(v, tz) for v in deliveries["sent_at"]],
        }
    )


def missing_file_text(filename: str) -> str:
    return (
        f"Le fichier « {filename} » de cet envoi est introuvable : il a été produit avant "
        "que les rapports soient conservés dans la base, sur le disque d'une autre machine. "
        "Il n'est plus téléchargeable ici."
    )


def run_detail(schedule_id: int, settings: Settings, *, outbox: bool) -> tuple[int, bool] | None:
    """History of a schedule's runs, one run's recipients and files.

    Returns the run shown and whether it can be resent to failed recipients.
    """
    runs = run_history(state.engine(), schedule_id)
    if runs.empty:
        st.info("Aucun envoi pour l'instant.", icon=":material/info:")
        return None
    history = runs_table(runs, settings.tz)
    st.dataframe(history, hide_index=True, width="stretch")
    download_buttons(
        history,
        title="Historique des envois",
        file_stem=dated_stem(f"envois-planification-{schedule_id}"),
        key=f"{KEY}_runs_export_{schedule_id}",
    )
    labels = {
        int(r.id): f"Envoi n° {int(r.id)} — {_when(r.due_at, settings.tz)} — {r.status_label}"
        for r in runs.itertuples()
    }
    run_id = st.selectbox(
        "Détail de l'envoi",
        list(labels),
        format_func=labels.__getitem__,
        key=f"{KEY}_run_{schedule_id}",
    )
    deliveries = run_deliveries(state.engine(), run_id, outbox=outbox)
    if outbox:
        st.caption(
            "Pas de serveur SMTP configuré : les messages sont déposés dans la boîte d'envoi locale."
        )
    recipients = deliveries_table(deliveries, settings.tz)
    st.dataframe(recipients, hide_index=True, width="stretch")
    download_buttons(
        recipients,
        title="Destinataires de l'envoi",
        file_stem=dated_stem(f"destinataires-envoi-{run_id}"),
        key=f"{KEY}_deliveries_export_{run_id}",
    )
    files = run_files(state.engine(), settings, run_id)
    for position, file in enumerate(files):
        suffix = file.filename.rsplit(".", 1)[-1]
        if file.content is None:
            st.warning(missing_file_text(file.filename), icon=":material/warning:")
            continue
        st.download_button(
            f"Télécharger le fichier {FORMAT_LABELS.get(suffix, suffix)} ({fmt.number(max(file.size // 1024, 1))} Ko)",
            file.content,
            file_name=file.filename,
            mime=MIME.get(suffix),
            key=f"{KEY}_file_{run_id}_{position}",
        )
    return run_id, bool(runs.loc[runs["id"] == run_id, "resendable"].iloc[0])
