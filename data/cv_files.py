"""Serving applicants' CVs safely: only PDF files under ``UPLOAD_ROOT``.

``candidatures.cv_path`` is written by the website and is not trusted: a path
that is absolute, climbs out with ``..``, resolves (through a symlink) outside
the root, names something that is not a regular PDF file, is missing, or is
larger than ``CV_MAX_BYTES`` gives a clear French message, and never the
bytes of a file outside the root.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Final

from data.errors import InvalidInput, NotFound
from data.formatting import number

PDF_MAGIC: Final = b"%PDF-"
MAX_PATH_CHARS: Final = 500
REFUSED_PATH = "Chemin de CV refusé : il doit désigner un fichier du dossier des CV."


@dataclass(frozen=True)
class CvFile:
    """A CV ready to preview and download."""

    data: bytes
    download_name: str

    @property
    def size(self) -> int:
        return len(self.data)


def _relative_parts(cv_path: str) -> tuple[str, ...]:
    """The components of a stored path, refusing anything that is not plainly relative."""
    if "\x00" in cv_path or len(cv_path) > MAX_PATH_CHARS:
        raise InvalidInput(REFUSED_PATH)
    posix, windows = PurePosixPath(cv_path), PureWindowsPath(cv_path)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or cv_path.startswith("\\"):
        raise InvalidInput(REFUSED_PATH)
    parts = tuple(part for part in cv_path.replace("\\", "/").split("/") if part not in ("", "."))
    if not parts or any(part == ".." for part in parts):
        raise InvalidInput(REFUSED_PATH)
    return parts


def resolve_cv_path(upload_root: Path, cv_path: str | None) -> Path:
    """The real path of a CV inside ``upload_root``; raises for anything else."""
    if cv_path is None or not cv_path.strip():
        raise NotFound("Aucun CV n'est joint à cette candidature.")
    parts = _relative_parts(cv_path.strip())
    try:
        root = upload_root.resolve(strict=True)
    except OSError:
        raise NotFound("Le dossier des CV (UPLOAD_ROOT) est introuvable sur ce serveur.") from None
    try:
        real = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise NotFound("Fichier CV introuvable sur le serveur.") from None
    if not real.is_relative_to(root):
        raise InvalidInput(REFUSED_PATH)
    return real


def read_cv(
    upload_root: Path, cv_path: str | None, *, max_bytes: int, application_id: int | None = None
) -> CvFile:
    """The bytes of a CV, after every check of this module.

    The file is opened without following a final symlink (the path is already
    resolved) and checked on the open descriptor, so what is read is what was
    checked.
    """
    real = resolve_cv_path(upload_root, cv_path)
    # No final symlink, and never block on a FIFO planted under the root.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(real, flags)
    except OSError:
        raise NotFound("Fichier CV introuvable ou illisible sur le serveur.") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput("Le CV n'est pas un fichier ordinaire.")
        if info.st_size > max_bytes:
            raise InvalidInput(
                f"CV trop volumineux ({_megabytes(info.st_size)} Mo, "
                f"maximum {_megabytes(max_bytes)} Mo) : il n'est pas affiché."
            )
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise InvalidInput(f"CV trop volumineux (maximum {_megabytes(max_bytes)} Mo).")
    if not data.startswith(PDF_MAGIC):
        raise InvalidInput("Le fichier joint n'est pas un PDF : il n'est pas affiché.")
    name = f"cv-candidature-{application_id}.pdf" if application_id is not None else "cv.pdf"
    return CvFile(data=data, download_name=name)


def _megabytes(size: int) -> str:
    return number(size / (1024 * 1024), decimals=1)
