"""CVs are served only as PDF files from under UPLOAD_ROOT; anything else gets a clear message."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from data import cv_files
from data.cv_files import read_cv
from data.errors import InvalidInput, NotFound

LIMIT = 1024 * 1024


def _pdf(text: str = "CV de José") -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    uploads = tmp_path / "uploads"
    (uploads / "cv" / "2026" / "11").mkdir(parents=True)
    (uploads / "cv" / "2026" / "11" / "4f1c.pdf").write_bytes(_pdf())
    (uploads / "cv" / "notes.txt").write_text("pas un PDF")
    (uploads / "cv" / "fake.pdf").write_bytes(b"<html>not a pdf</html>")
    (uploads / "cv" / "big.pdf").write_bytes(b"%PDF-1.4\n" + b"0" * LIMIT)
    (tmp_path / "secret.pdf").write_bytes(_pdf("secret"))
    os.symlink(tmp_path / "secret.pdf", uploads / "cv" / "escape.pdf")
    os.symlink(tmp_path, uploads / "cv" / "updir")
    os.mkfifo(uploads / "cv" / "pipe.pdf")
    os.symlink(uploads / "cv" / "2026" / "11" / "4f1c.pdf", uploads / "cv" / "inside.pdf")
    return uploads


@pytest.mark.parametrize(
    "cv_path",
    ["cv/2026/11/4f1c.pdf", "./cv/2026/11/4f1c.pdf", "cv//2026/11/4f1c.pdf"],
)
def test_a_pdf_under_the_root_is_served(root: Path, cv_path: str) -> None:
    cv = read_cv(root, cv_path, max_bytes=LIMIT, application_id=12)
    assert cv.data.startswith(b"%PDF-") and cv.size == len(_pdf())
    assert cv.download_name == "cv-candidature-12.pdf"


@pytest.mark.parametrize(
    "cv_path",
    [
        "../../etc/passwd",
        "../secret.pdf",
        "cv/../../secret.pdf",
        "/etc/passwd",
        "\\\\server\\share\\cv.pdf",
        "C:\\cv.pdf",
        "cv\\..\\..\\secret.pdf",
        "cv/escape.pdf",  # a symlink out of the root
        "cv/updir/secret.pdf",  # a directory symlink out of the root
        "cv/inside.pdf",  # any link is refused, even one that stays inside
        "cv/2026\x00/x.pdf",
        "a" * 600,
    ],
)
def test_paths_out_of_the_root_are_refused(root: Path, cv_path: str) -> None:
    with pytest.raises((InvalidInput, NotFound)) as caught:
        read_cv(root, cv_path, max_bytes=LIMIT)
    assert "secret" not in caught.value.user_message and caught.value.user_message


@pytest.mark.parametrize(
    ("cv_path", "error", "message"),
    [
        (None, NotFound, "Aucun CV"),
        ("  ", NotFound, "Aucun CV"),
        ("cv/absent.pdf", NotFound, "introuvable"),
        ("cv/notes.txt", InvalidInput, "pas un PDF"),
        ("cv/fake.pdf", InvalidInput, "pas un PDF"),
        ("cv/big.pdf", InvalidInput, "trop volumineux"),
        ("cv", InvalidInput, "fichier ordinaire"),
        ("cv/pipe.pdf", InvalidInput, "fichier ordinaire"),
        ("../../etc/passwd", InvalidInput, "Chemin de CV refusé"),
    ],
)
def test_each_problem_has_a_clear_french_message(
    root: Path, cv_path: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        read_cv(root, cv_path, max_bytes=LIMIT)


def test_missing_upload_root_is_reported(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="UPLOAD_ROOT"):
        read_cv(tmp_path / "nowhere", "cv/a.pdf", max_bytes=LIMIT)


def test_an_upload_root_that_is_a_link_is_followed(root: Path, tmp_path: Path) -> None:
    """The root is configuration (it may be a link); only what is below it is not trusted."""
    os.symlink(root, tmp_path / "uploads-link")
    assert read_cv(tmp_path / "uploads-link", "cv/2026/11/4f1c.pdf", max_bytes=LIMIT).size


def test_a_folder_swapped_for_a_link_before_the_open_never_serves_an_outside_file(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attacker's timing, made exact: ``cv/2026`` is swapped for a link to a folder
    outside the root just before the first file is opened, i.e. after anything that
    looked at the path (check-then-open served the outside file here)."""
    outside = tmp_path / "outside" / "11"
    outside.mkdir(parents=True)
    secret = _pdf("secret du dehors")
    (outside / "4f1c.pdf").write_bytes(secret)
    real_open = os.open
    swapped: list[bool] = []

    def open_after_swap(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not swapped:
            os.rename(root / "cv" / "2026", root / "cv" / "2026-parked")
            os.symlink(outside.parent, root / "cv" / "2026")
            swapped.append(True)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(cv_files.os, "open", open_after_swap)
    with pytest.raises(InvalidInput, match="Chemin de CV refusé"):
        read_cv(root, "cv/2026/11/4f1c.pdf", max_bytes=LIMIT)
    assert swapped
