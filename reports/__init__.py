"""Reports: builders, PDF and Excel renderers, email delivery and schedules.

Never imports Streamlit: the scheduler, the command line and the tests use it
directly.
"""
