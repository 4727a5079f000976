"""The app's own CSV and Excel downloads: the one way a table leaves the dashboard.

Streamlit's toolbar download is off (``client.disableDataExport`` in
``.streamlit/config.toml``): it writes raw cells, so a message typed as
``=HYPERLINK(...)`` would reach a spreadsheet as a live formula. These buttons
go through :mod:`reports.excel`, which neutralises such text, keeps numbers as
numbers and dates as dates. Files are built only when a button is clicked.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import streamlit as st
from pandas.api import types

from reports.excel import dataframe_to_csv_bytes, write_workbook
from reports.model import Column, ColumnKind, TableSpec
from ui import state

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _kind(series: pd.Series) -> ColumnKind:
    if types.is_bool_dtype(series):
        return "text"
    if types.is_integer_dtype(series):
        return "integer"
    if types.is_float_dtype(series):
        return "number"
    if types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


def frame_columns(frame: pd.DataFrame) -> tuple[Column, ...]:
    """Columns for a table already shaped for the screen (French headers as names)."""
    return tuple(Column(str(name), str(name), _kind(frame[name])) for name in frame.columns)


def export_frame(df: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """The table as it is exported: the shown columns, under their French headers."""
    return df[[c.key for c in columns]].rename(columns={c.key: c.header for c in columns})


def workbook_bytes(df: pd.DataFrame, columns: Sequence[Column], title: str) -> bytes:
    buffer = io.BytesIO()
    table = TableSpec(title=title, columns=tuple(columns), rows=df)
    write_workbook([table], buffer, tz=state.settings().tz)
    return buffer.getvalue()


def dated_stem(name: str) -> str:
    """``journal-audit_2026-12-03``: a file name with today's local date."""
    return f"{name}_{datetime.now(state.settings().tz).date().isoformat()}"


def download_buttons(
    df: pd.DataFrame,
    columns: Sequence[Column] | None = None,
    *,
    title: str,
    file_stem: str,
    key: str,
) -> None:
    """CSV (';', UTF-8 BOM) and Excel downloads of a table, built only when clicked."""
    chosen = tuple(columns) if columns is not None else frame_columns(df)
    frame = df[[c.key for c in chosen]].copy()
    tz = state.settings().tz
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "CSV",
            data=lambda: dataframe_to_csv_bytes(export_frame(frame, chosen), tz=tz),
            file_name=f"{file_stem}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            on_click="ignore",
            icon=":material/download:",
        )
        st.download_button(
            "Excel",
            data=lambda: workbook_bytes(frame, chosen, title),
            file_name=f"{file_stem}.xlsx",
            mime=XLSX_MIME,
            key=f"{key}_xlsx",
            on_click="ignore",
            icon=":material/table_view:",
        )
