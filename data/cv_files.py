"""Serving applicants' CVs safely: only PDF files under ``UPLOAD_ROOT``.

``candidatures.cv_path`` is written by the website and is not trusted: a path
that is absolute, climbs out with ``..``, goes through a symbolic link, names
something that is not a regular PDF file, is missing, or is larger than
``CV_MAX_BYTES`` gives a clear French message, and never the bytes of a file
outside the root.

The file is opened one component at a time from the root's directory
descriptor, each with ``O_NOFOLLOW`` (``openat``): there is no moment between a
check of the path and the opening of the file where a folder swapped for a
symbolic link could lead outside the root. Symbolic links below the root are
refused, wherever they point; the root itself may be one (it is configuration).
"""

from __future__ import annotations

import errno
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


def _checked_parts(cv_path: str | None) -> tuple[str, ...]:
    if cv_path is None or not cv_path.strip():
        raise NotFound("Aucun CV n'est joint à cette candidature.")
    return _relative_parts(cv_path.strip())


def _open_root(upload_root: Path) -> int:
    try:
        return os.open(upload_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise NotFound("Le dossier des CV (UPLOAD_ROOT) est introuvable sur ce serveur.") from None


def _refusal(error: OSError) -> Exception:
    """A link where a folder or the file was expected is refused; anything else is missing."""
    if error.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
        return InvalidInput(REFUSED_PATH)
    return NotFound("Fichier CV introuvable ou illisible sur le serveur.")


def open_beneath(upload_root: Path, parts: tuple[str, ...]) -> int:
    """A read-only descriptor of ``upload_root/parts...``, no symbolic link followed below
    the root; never blocks on a FIFO planted there. The caller closes it."""
    folder = _open_root(upload_root)
    try:
        for part in parts[:-1]:
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            inner = os.open(part, flags, dir_fd=folder)
            os.close(folder)
            folder = inner
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        return os.open(parts[-1], flags, dir_fd=folder)
    except OSError as exc:
        raise _refusal(exc) from None
    finally:
        os.close(folder)


def read_cv(
    upload_root: Path, cv_path: str | None, *, max_bytes: int, application_id: int | None = None
) -> CvFile:
    """The bytes of a CV, after every check of this module.

    The file is opened through the folder tree without following any link
    (:func:`open_beneath`) and checked on the open descriptor, so what is read
    is what was checked.
    """
    descriptor = open_beneath(upload_root, _checked_parts(cv_path))
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
