"""Report files every instance can see: a run's files and message live in the database.

Two app instances, or two schedulers, on two machines share nothing but the
database: "another machine" here is another OUTBOX_DIR (the old archive
folder was beside it).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, update

from data.owned import ReportFileRow, ReportRun
from data.settings import load_settings
from reports.history import run_files
from reports.manual import resend_failed
from reports.step import run_due
from tests.conftest import SmtpSink
from tests.test_scheduler import DUE, mail_settings, owner, runs, schedule


def test_files_built_on_one_machine_download_on_another(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), formats=("pdf", "xlsx"))
    run_due(engine, mail_settings(tmp_path / "scheduler", smtp_sink), DUE + timedelta(seconds=10))
    (run,) = runs(engine)
    assert not any((tmp_path / "scheduler").rglob("*.pdf"))  # nothing on the builder's disk
    files = run_files(engine, mail_settings(tmp_path / "app", smtp_sink), run.id)
    assert [f.filename[-4:] for f in files] == [".pdf", "xlsx"]
    assert files[0].content is not None and files[0].content.startswith(b"%PDF")
    assert files[1].content is not None and files[1].content.startswith(b"PK")
    assert [f.size for f in files] == [len(f.content or b"") for f in files]


def test_a_resend_from_another_machine_attaches_the_stored_files(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    actor = owner(engine)
    schedule(engine, actor, formats=("pdf",), recipients=("a@cipfaro.fr", "b@cipfaro.fr"))
    smtp_sink.refuse.add("b@cipfaro.fr")
    run_due(engine, mail_settings(tmp_path / "scheduler", smtp_sink), DUE + timedelta(seconds=10))
    smtp_sink.refuse.clear()
    (run,) = runs(engine)
    outcome = resend_failed(
        engine, mail_settings(tmp_path / "app", smtp_sink), actor=actor, run_id=run.id
    )
    assert outcome.status in ("sent", "sent_late")
    (resent,) = smtp_sink.received_by("b@cipfaro.fr")
    (attachment,) = [part for part in resent.iter_attachments()]
    assert attachment.get_filename().endswith(".pdf")
    assert attachment.get_content().startswith(b"%PDF")


def test_a_file_found_nowhere_is_listed_as_missing(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), formats=("pdf", "xlsx"))
    settings = mail_settings(tmp_path, smtp_sink)
    run_due(engine, settings, DUE + timedelta(seconds=10))
    (run,) = runs(engine)
    with engine.begin() as connection:  # a run built before 0006, on another machine's disk
        connection.execute(delete(ReportFileRow).where(ReportFileRow.filename.endswith(".pdf")))
    files = run_files(engine, settings, run.id)
    assert [(f.filename[-4:], f.missing) for f in files] == [(".pdf", True), ("xlsx", False)]
    assert files[0].size > 0  # as recorded when it was built


def test_a_run_built_before_the_files_moved_is_read_from_its_folder(
    engine: Engine, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    schedule(engine, owner(engine), formats=("pdf",))
    settings = mail_settings(tmp_path, smtp_sink)
    run_due(engine, settings, DUE + timedelta(seconds=10))
    (run,) = runs(engine)
    (stored,) = run_files(engine, settings, run.id)
    folder = tmp_path / "rapports" / f"run-{run.id}"
    folder.mkdir(parents=True)
    (folder / stored.filename).write_bytes(stored.content or b"")
    with engine.begin() as connection:
        connection.execute(delete(ReportFileRow))
        connection.execute(update(ReportRun).values(message=None))
    (legacy,) = run_files(engine, settings, run.id)
    assert legacy.content == stored.content
    assert run_files(engine, load_settings(OUTBOX_DIR=tmp_path / "elsewhere" / "outbox"), run.id)[
        0
    ].missing
