"""PDF rendering of a :class:`~reports.model.Report` with reportlab platypus.

Real text (selectable, searchable), charts drawn from the data with
reportlab.graphics, tables that split across pages with their header row
repeated, a header on every page and "Page N / M" at the foot. Every string
that may come from the database is escaped before it reaches a Paragraph, so
``<``, ``&`` or half a tag print as themselves.

The standard Helvetica font is used (nothing to install, always embedded by
the viewer); the few characters outside its WinAnsi encoding are replaced by
close equivalents (:func:`pdf_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from data import formatting
from data.settings import get_settings
from reports.display import as_number, generated_text, period_text, value_text
from reports.model import CENTRE_NAME, ChartSpec, Column, ColumnKind, Figure, Report, TableSpec

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 1.8 * cm
MARGIN_TOP = 2.6 * cm
MARGIN_BOTTOM = 2.0 * cm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
PDF_MAX_ROWS = 400  # longer tables are cut in the PDF; the workbook has every row
BRAND = colors.HexColor("#1F4E79")
LIGHT = colors.HexColor("#DCE6F1")
SERIES_COLOURS = (
    colors.HexColor("#1F4E79"),
    colors.HexColor("#E07B39"),
    colors.HexColor("#5B9E4D"),
    colors.HexColor("#8E6BB8"),
)
FIXED_WIDTHS: dict[ColumnKind, float] = {
    "id": 1.4 * cm,
    "money": 2.4 * cm,
    "percent": 1.8 * cm,
    "integer": 1.8 * cm,
    "number": 1.8 * cm,
    "date": 2.1 * cm,
    "datetime": 2.9 * cm,
}
# Characters outside WinAnsi (Helvetica's encoding) and what to print instead.
_REPLACEMENTS = {"\u2212": "-", "\u202f": "\u00a0", "\u2192": "->", "\u2009": " ", "\u2011": "-"}


def pdf_text(text: str) -> str:
    """``text`` restricted to what the standard fonts can print."""
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            char = "?"
        out.append(char)
    return "".join(out)


def markup(text: str) -> str:
    """Database (or any) text made safe for a Paragraph: printable, escaped."""
    return escape(pdf_text(text))


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=9.5)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=18, alignment=0),
        "meta": ParagraphStyle("meta", parent=body, textColor=colors.HexColor("#444444")),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], textColor=BRAND, spaceBefore=10),
        "h3": ParagraphStyle("h3", parent=base["Heading4"], spaceBefore=6),
        "body": body,
        "note": ParagraphStyle("note", parent=body, fontSize=8, textColor=colors.grey),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "cell_num": ParagraphStyle(
            "cell_num", parent=body, fontSize=8, leading=10, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle(
            "head",
            parent=body,
            fontSize=8,
            leading=10,
            fontName="Helvetica-Bold",
            textColor=colors.white,
        ),
        "head_num": ParagraphStyle(
            "head_num",
            parent=body,
            fontSize=8,
            leading=10,
            fontName="Helvetica-Bold",
            textColor=colors.white,
            alignment=TA_RIGHT,
        ),
        "fig_label": ParagraphStyle("fig_label", parent=body, fontSize=8, textColor=colors.grey),
        "fig_value": ParagraphStyle(
            "fig_value", parent=body, fontSize=14, leading=17, fontName="Helvetica-Bold"
        ),
        "fig_delta": ParagraphStyle("fig_delta", parent=body, fontSize=8),
    }


# --- Page furniture -----------------------------------------------------------


class _NumberedCanvas(Canvas):
    """A canvas that knows the page count when it saves: "Page N / M"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page_states: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._page_states.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._page_states)
        for state in self._page_states:
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.setFillColor(colors.grey)
            self.drawRightString(
                PAGE_WIDTH - MARGIN_X, 1.1 * cm, f"Page {self._pageNumber} / {total}"
            )
            super().showPage()
        super().save()


def _page_decorator(report: Report, tz: ZoneInfo) -> Callable[[Canvas, Any], None]:
    title = pdf_text(report.title)
    footer = pdf_text(f"Période {period_text(report)} — {generated_text(report, tz)}")

    def decorate(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(BRAND)
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(MARGIN_X, PAGE_HEIGHT - 1.4 * cm, CENTRE_NAME)
        canvas.setFont("Helvetica", 9)
        canvas.drawRightString(PAGE_WIDTH - MARGIN_X, PAGE_HEIGHT - 1.4 * cm, title)
        canvas.setStrokeColor(BRAND)
        canvas.setLineWidth(0.8)
        canvas.line(
            MARGIN_X, PAGE_HEIGHT - 1.65 * cm, PAGE_WIDTH - MARGIN_X, PAGE_HEIGHT - 1.65 * cm
        )
        canvas.setFillColor(colors.grey)
        canvas.setFont("Helvetica", 8)
        canvas.drawString(MARGIN_X, 1.1 * cm, footer)
        canvas.restoreState()

    return decorate


# --- Blocks --------------------------------------------------------------------


def _title_block(report: Report, tz: ZoneInfo, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    lines = [Paragraph(markup(report.title), st["title"])]
    lines.append(Paragraph(markup(f"Période : {period_text(report)}"), st["meta"]))
    if report.formation:
        label = report.formation_label or report.formation
        lines.append(Paragraph(markup(f"Formation : {label}"), st["meta"]))
    lines.append(Paragraph(markup(generated_text(report, tz)), st["meta"]))
    lines.append(Spacer(1, 0.4 * cm))
    return lines


def _figure_card(figure: Figure, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    card = [
        Paragraph(markup(figure.label), st["fig_label"]),
        Paragraph(markup(figure.text), st["fig_value"]),
    ]
    if figure.note:
        card.append(Paragraph(markup(figure.note), st["fig_delta"]))
    if figure.previous_text is not None:
        text = (
            f"Période précédente : {figure.previous_text}"
            if figure.change is None
            else f"{figure.change} vs période précédente ({figure.previous_text})"
        )
        card.append(Paragraph(markup(text), st["fig_delta"]))
    return card


def figures_grid(
    figures: Sequence[Figure], st: dict[str, ParagraphStyle], per_row: int = 3
) -> Table:
    """Headline figures as cards, ``per_row`` to a row."""
    cells = [_figure_card(f, st) for f in figures]
    while len(cells) % per_row:
        cells.append([])
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    grid = Table(rows, colWidths=[CONTENT_WIDTH / per_row] * per_row)
    grid.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, LIGHT),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, LIGHT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return grid


def _header_width(column: Column) -> float:
    longest_word = max(pdf_text(column.header).split() or [""], key=len)
    return stringWidth(longest_word, "Helvetica-Bold", 8) + 16


def _column_widths(columns: Sequence[Column]) -> list[float]:
    fixed = [
        max(FIXED_WIDTHS[c.kind], _header_width(c)) if c.kind in FIXED_WIDTHS else None
        for c in columns
    ]
    used = sum(w for w in fixed if w is not None)
    free = [i for i, w in enumerate(fixed) if w is None]
    if not free:
        scale = CONTENT_WIDTH / used if used > CONTENT_WIDTH else 1.0
        return [float(w) * scale for w in fixed if w is not None]
    share = max(2.0 * cm, (CONTENT_WIDTH - used) / len(free))
    widths = [w if w is not None else share for w in fixed]
    total = sum(widths)
    return [w * CONTENT_WIDTH / total for w in widths] if total > CONTENT_WIDTH else widths


def data_table(table: TableSpec, tz: ZoneInfo, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    """A table that splits across pages, header repeated; long tables are cut."""
    frame = table.frame()
    columns = table.columns
    header = [
        Paragraph(markup(c.header), st["head"] if c.kind == "text" else st["head_num"])
        for c in columns
    ]
    body = []
    for row in frame[[c.key for c in columns]].head(PDF_MAX_ROWS).itertuples(index=False):
        body.append(
            [
                Paragraph(
                    markup(value_text(value, c.kind, tz)),
                    st["cell"] if c.kind == "text" else st["cell_num"],
                )
                for value, c in zip(row, columns, strict=True)
            ]
        )
    # A title never ends a page alone: start a new page when little room is left.
    flowables: list[Flowable] = [CondPageBreak(3.5 * cm), Paragraph(markup(table.title), st["h3"])]
    if not body:
        flowables.append(Paragraph("Aucune ligne pour cette période.", st["note"]))
        return flowables
    grid = Table([header, *body], colWidths=_column_widths(columns), repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), BRAND),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F3F6FA")]),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, LIGHT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    flowables.append(grid)
    if len(frame) > PDF_MAX_ROWS:
        rest = formatting.number(len(frame) - PDF_MAX_ROWS)
        flowables.append(
            Paragraph(f"… et {rest} lignes de plus dans le fichier Excel.", st["note"])
        )
    if table.note:
        flowables.append(Paragraph(markup(table.note), st["note"]))
    return flowables


# --- Charts --------------------------------------------------------------------


def _axis_format(kind: ColumnKind) -> Callable[[float], str]:
    def fmt(value: float) -> str:
        if kind == "money":
            return pdf_text(formatting.money(value, decimals=0))
        if kind == "percent":
            return pdf_text(formatting.percent(value, decimals=0))
        return pdf_text(formatting.number(value, decimals=0 if float(value).is_integer() else 1))

    return fmt


def _short(label: str, limit: int) -> str:
    label = pdf_text(label)
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _series_data(spec: ChartSpec) -> list[tuple[float | None, ...]]:
    return [tuple(as_number(v) for v in s.values) for s in spec.series]


def _scale(chart: Any, data: list[tuple[float | None, ...]]) -> None:
    values = [v for series in data for v in series if v is not None]
    chart.valueAxis.valueMin = min(0.0, *values) if values else 0.0
    if not values or max(values) <= 0:
        chart.valueAxis.valueMax = 1.0


def chart_drawing(spec: ChartSpec, width: float = CONTENT_WIDTH, height: float = 6 * cm) -> Drawing:
    """The chart as vector graphics (text stays text)."""
    data = _series_data(spec)
    many = len(spec.series) > 1
    if spec.kind == "hbar":  # room for every bar
        height = max(height, 45 + len(spec.categories) * (len(spec.series) * 7 + 5))
    drawing = Drawing(width, height + (14 if many else 0))
    if spec.kind == "hbar":
        # Top to bottom in the given order (reportlab draws the first at the bottom).
        data = [tuple(reversed(series)) for series in data]
        chart: Any = HorizontalBarChart()
        chart.x, chart.width = 150, width - 170
        chart.categoryAxis.categoryNames = [_short(c, 34) for c in reversed(spec.categories)]
    else:
        chart = VerticalBarChart() if spec.kind == "bar" else HorizontalLineChart()
        chart.x, chart.width = 45, width - 60
        names = [_short(c, 16) for c in spec.categories]
        chart.categoryAxis.categoryNames = names
        slot = chart.width / max(len(names), 1)
        crowded = any(stringWidth(n, "Helvetica", 7) + 4 > slot for n in names)
        chart.categoryAxis.labels.angle = 30 if crowded else 0
        chart.categoryAxis.labels.boxAnchor = "ne" if crowded else "n"
    chart.categoryAxis.labels.fontSize = 7
    chart.y, chart.height = 30, height - 45
    chart.data = data or [(0,)]
    _scale(chart, data)
    chart.valueAxis.labelTextFormat = _axis_format(spec.value_kind)
    chart.valueAxis.labels.fontSize = 7
    for index in range(len(data)):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        if spec.kind == "line":
            chart.lines[index].strokeColor = colour
            chart.lines[index].strokeWidth = 1.5
            chart.lines[index].symbol = makeMarker("FilledCircle", size=3, fillColor=colour)
        else:
            chart.bars[index].fillColor = colour
            chart.bars[index].strokeColor = None
    drawing.add(chart)
    if many:
        legend = Legend()
        legend.x, legend.y = chart.x, height + 10
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.fontSize = 7
        legend.deltax = 110
        legend.colorNamePairs = [
            (SERIES_COLOURS[i % len(SERIES_COLOURS)], pdf_text(s.name))
            for i, s in enumerate(spec.series)
        ]
        drawing.add(legend)
    if not any(v for series in data for v in series if v):
        drawing.add(String(width / 2, height / 2, "Aucune donnée", textAnchor="middle", fontSize=8))
    return drawing


# --- Document ------------------------------------------------------------------


def story(report: Report, tz: ZoneInfo) -> list[Flowable]:
    st = _styles()
    flowables: list[Flowable] = _title_block(report, tz, st)
    if report.figures:
        flowables.append(figures_grid(report.figures, st))
    for note in report.notes:
        flowables.append(Paragraph(markup(note), st["note"]))
    for section in report.sections:
        flowables.append(Paragraph(markup(section.title), st["h2"]))
        for paragraph in section.paragraphs:
            flowables.append(Paragraph(markup(paragraph), st["body"]))
        for chart in section.charts:
            flowables.append(
                KeepTogether([Paragraph(markup(chart.title), st["h3"]), chart_drawing(chart)])
            )
        for table in section.tables:
            flowables.extend(data_table(table, tz, st))
    return flowables


def render_pdf(
    report: Report, destination: str | Path | BinaryIO, *, tz: ZoneInfo | None = None
) -> None:
    """Write ``report`` as a PDF to a path or a binary file object."""
    zone = tz if tz is not None else get_settings().tz
    target = str(destination) if isinstance(destination, Path) else destination
    doc = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=pdf_text(f"{CENTRE_NAME} — {report.title}"),
        author=CENTRE_NAME,
        subject=pdf_text(f"Période {period_text(report)}"),
        creator=f"{CENTRE_NAME} tableau de bord",
    )
    decorate = _page_decorator(report, zone)
    doc.build(
        story(report, zone),
        onFirstPage=decorate,
        onLaterPages=decorate,
        canvasmaker=_NumberedCanvas,
    )
