"""CIP FARO dashboard: entry point (``streamlit run dashboard.py``).

Page configuration, sign-in, and the navigation of the signed-in user's
pages. Nothing else: every screen lives in pages/.
"""

import streamlit as st

from ui import app

st.set_page_config(
    page_title="CIP FARO — Tableau de bord",
    page_icon=":material/school:",
    layout="wide",
)
app.leave_pages_folder_mode()
actor = app.start()
st.navigation(  # every page shown: no "View more"
    app.navigation_for(actor), position=app.menu_position(actor), expanded=True
).run()
