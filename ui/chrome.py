"""What every run draws around the pages: the document's language and the layout rules.

Streamlit serves ``<html lang="en">`` and offers no setting for it; a one-line
script (``st.html`` with JavaScript allowed, the app's own constant text) sets
``lang="fr"`` so that screen readers read the French as French.

The style sheet only loosens Streamlit's layout where it would cut text:
columns wrap to fewer per row instead of shrinking below a readable width,
card titles, values and widget labels wrap instead of ending in an ellipsis,
and a multiselect's chips wrap instead of scrolling out of view. Section
titles are h2 (under the page's h1) drawn at a subheader's size. Captions
(which Streamlit draws in a faded grey, 4:1 or less) are drawn opaque in a
grey that passes WCAG AA (4.5:1) on the app's backgrounds.
"""

from __future__ import annotations

from typing import Final

import streamlit as st

# The narrowest a column may become before the row wraps (a date range, a
# "12 derniers mois" select, a KPI figure with its unit all fit in it).
COLUMN_MIN_WIDTH: Final = "12.5rem"
# A column holding a date range ("03/11/2026 – 03/12/2026" and its calendar icon).
DATE_COLUMN_MIN_WIDTH: Final = "15.5rem"
# Text colour of captions and muted text: #55606a on white is 6.4:1, on the
# sidebar's #f1f5f3 5.8:1 (Streamlit's default grey is about 4:1).
MUTED_TEXT: Final = "#55606a"

STYLE: Final = f"""
<style>
[data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
[data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {{
  min-width: min({COLUMN_MIN_WIDTH}, 100%);
}}
[data-testid="stMetricLabel"] *, [data-testid="stMetricValue"] *,
[data-testid="stMetricDelta"] *, [data-testid="stMetricValue"],
[data-testid="stMetricDelta"], .stMarkdownEllipsis, .stMarkdownEllipsis * {{
  white-space: normal !important;
  overflow: visible !important;
  text-overflow: clip !important;
}}
[data-testid="stMain"] h2 {{ font-size: 1.6rem; }}
[data-testid="stMultiSelectTagsContainer"] {{ flex-wrap: wrap !important; }}
[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:has([data-testid="stDateInput"]) {{
  min-width: min({DATE_COLUMN_MIN_WIDTH}, 100%);
}}
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * {{
  color: {MUTED_TEXT} !important;
  opacity: 1 !important;
}}
</style>
"""

LANG_SCRIPT: Final = "<script>document.documentElement.lang = 'fr';</script>"


def draw() -> None:
    """The style sheet and the document language; drawn first in every run."""
    st.html(STYLE)
    st.html(LANG_SCRIPT, unsafe_allow_javascript=True)
