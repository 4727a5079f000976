"""The Streamlit side: shared UI pieces, cached wrappers and the sign-in gate.

Pages import from here and from data/ and reports/; nothing outside the app
(scheduler, command-line tools) imports this package.
"""
