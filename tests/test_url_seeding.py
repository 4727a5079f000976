"""The list pages start their widgets from the URL whenever Streamlit has dropped them.

Streamlit drops a widget's state when a run completes without drawing it: on leaving a
page, and when a page change races a rerun (the browser had not drawn the widget yet).
A file opened from a link (« candidatures?dossier=42 ») then closed by itself, and a
second link to the same page opened nothing. The script below uses Streamlit's own
clean-up: it hides the picker for one run, as leaving the page does.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page() -> None:
    import streamlit as st

    from ui import list_page as lp

    opened = st.query_params.get("dossier")
    lp.seed_from_url("t", {"open": int(opened) if opened else None}, ("Paramètre ignoré.",))
    for notice in st.session_state.pop("t_url_notices", ()):
        st.warning(notice)
    if st.session_state.get("away"):
        st.write("Une autre page")
    else:
        st.selectbox("Ouvrir le dossier", [None, 41, 42, 43], key="t_open")


def test_a_dropped_widget_starts_again_from_the_url() -> None:
    at = AppTest.from_function(_page)
    at.query_params["dossier"] = "42"
    at.run()
    assert at.selectbox(key="t_open").value == 42
    assert [w.value for w in at.warning] == ["Paramètre ignoré."]  # said on arrival

    at.run()
    assert at.selectbox(key="t_open").value == 42
    assert not at.warning  # said once

    at.session_state["away"] = True  # the page is left: Streamlit drops the picker
    at.run()
    at.session_state["away"] = False
    at.query_params["dossier"] = "43"  # a later link, e.g. a notice's « Ouvrir »
    at.run()
    assert at.selectbox(key="t_open").value == 43


def test_a_choice_the_person_made_stands() -> None:
    at = AppTest.from_function(_page)
    at.query_params["dossier"] = "42"
    at.run()
    at.selectbox(key="t_open").set_value(None).run()  # « — »: the file is closed
    assert at.selectbox(key="t_open").value is None  # the URL's 42 does not come back
    at.selectbox(key="t_open").set_value(41).run()
    assert at.selectbox(key="t_open").value == 41
