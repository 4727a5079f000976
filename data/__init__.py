"""Data layer of the CIP FARO dashboard.

Nothing in this package imports Streamlit: the app, the scheduler, the
command-line tools and the tests all use it directly.
"""
