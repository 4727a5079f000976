"""Match review: the website's candidate <-> job-offer suggestions, and decisions on them.

Split the way :mod:`data.triage` is:

- :mod:`data.matching.filters`: the list's filters and their URL round trip;
- :mod:`data.matching.listing`: one page of matches by score, the filters' options;
- :mod:`data.matching.breakdown`: a match's score, criterion by criterion;
- :mod:`data.matching.decisions`: a decision on one match, or the same on a selection
  (one transaction per match, no lost update).
"""

from data.matching.breakdown import CRITERIA_LABELS, Breakdown, score_breakdown
from data.matching.decisions import MatchDecision, MatchVersion, bulk_decide, decide_match
from data.matching.filters import (
    FilterOptions,
    MatchFilters,
    filters_from_params,
    params_from_filters,
)
from data.matching.listing import (
    PAGE_SIZE,
    MatchPage,
    MatchRow,
    company_offers,
    match_filter_options,
    match_page,
)

__all__ = [
    "CRITERIA_LABELS",
    "PAGE_SIZE",
    "Breakdown",
    "FilterOptions",
    "MatchDecision",
    "MatchFilters",
    "MatchPage",
    "MatchRow",
    "MatchVersion",
    "bulk_decide",
    "company_offers",
    "decide_match",
    "filters_from_params",
    "match_filter_options",
    "match_page",
    "params_from_filters",
    "score_breakdown",
]
