"""The benchmark suite: ``python -m benchmarks`` (not part of the test run).

Builds or reuses a PostgreSQL database of 1,000,000 demo applications, brings
the dashboard's migrations up to date on it, then times, with the app's
caches bypassed (the data functions are called directly):

- ``kpis``: the overview KPI set for one month and for 12 months, and every
  breakdown for 12 months (:mod:`benchmarks.kpis`);
- ``naive``: the same figures the naive way, ``pd.read_sql`` of whole tables
  then pandas (:mod:`benchmarks.naive`);
- ``handsql``: the same aggregates as hand-written SQL over the website's
  tables, straight through psycopg (:mod:`benchmarks.handsql`);
- ``triage``: the triage queue's first page for several filters, and the
  applicant search (:mod:`benchmarks.triage`);
- ``reports``: the monthly report (PDF and Excel), and the peak memory of a
  100,000-row Excel export (:mod:`benchmarks.reports`).

Each operation: the cold first run, then the median of N warm runs; a table
on stdout and JSON in ``benchmarks/results/`` (see :mod:`benchmarks.harness`).
"""
