"""Rendering a built report into its files (PDF and/or Excel) in a directory."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from reports.display import generated_text, period_text
from reports.excel import SummaryRow, WorkbookSummary, write_workbook
from reports.mail import ReportFile
from reports.model import CENTRE_NAME, Report
from reports.pdf import render_pdf

FILE_SUFFIXES = {"pdf": ".pdf", "xlsx": ".xlsx"}


def workbook_summary(report: Report, tz: ZoneInfo) -> WorkbookSummary:
    """The summary sheet: title, period, filter, generation time, headline figures."""
    lines = [f"Période : {period_text(report)}"]
    if report.formation:
        lines.append(f"Formation : {report.formation_label or report.formation}")
    lines.append(generated_text(report, tz))
    lines.extend(f"{figure.label} : {figure.note}" for figure in report.figures if figure.note)
    lines.extend(report.notes)
    lines.extend(f"{table.title} : {table.note}" for table in report.tables if table.note)
    compared = any(figure.compared for figure in report.figures)
    return WorkbookSummary(
        title=f"{CENTRE_NAME} — {report.title}",
        lines=tuple(lines),
        rows=tuple(SummaryRow(f.label, f.value, f.kind, f.previous) for f in report.figures),
        compared=compared,
    )


def write_report_workbook(report: Report, destination: str | Path | BinaryIO, tz: ZoneInfo) -> None:
    """The report as a workbook: summary sheet, then one sheet per table."""
    write_workbook(report.tables, destination, summary=workbook_summary(report, tz), tz=tz)


def render_report(report: Report, formats: Sequence[str], tz: ZoneInfo) -> tuple[ReportFile, ...]:
    """The report in each of ``formats``, in memory."""
    files = []
    for fmt in formats:
        buffer = io.BytesIO()
        if fmt == "pdf":
            render_pdf(report, buffer, tz=tz)
        else:
            write_report_workbook(report, buffer, tz)
        files.append(ReportFile(f"{report.file_stem()}{FILE_SUFFIXES[fmt]}", buffer.getvalue()))
    return tuple(files)


def render_files(
    report: Report, directory: Path, formats: Sequence[str], tz: ZoneInfo
) -> tuple[ReportFile, ...]:
    """Write the report in each of ``formats`` into ``directory``; returns the files."""
    directory.mkdir(parents=True, exist_ok=True)
    files = render_report(report, formats, tz)
    for file in files:
        path = directory / file.filename
        temporary = path.with_name(path.name + ".part")
        temporary.write_bytes(file.content)
        temporary.replace(path)
    return files
