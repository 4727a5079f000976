"""A handful of real one-page PDF CVs under the demo upload root."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from data.demo.lifecycle import CvOwner
from data.demo.vocab import COMPANY_PREFIXES, PREVIOUS_JOBS

DIPLOMAS = (
    "Baccalauréat professionnel, lycée de Baimbridge",
    "CAP, lycée polyvalent de Baie-Mahault",
    "Baccalauréat général, lycée Gerville-Réache",
    "BEP, lycée de Blanchet",
)
SKILLS = (
    "Travail en équipe, ponctualité",
    "Permis B, véhicule personnel",
    "Bureautique : traitement de texte, tableur",
    "Créole et français courants, anglais intermédiaire",
)


def write_cv_files(upload_root: Path, owners: Iterable[CvOwner]) -> int:
    """Writes one PDF per owner at ``upload_root / owner.path``; returns how many."""
    written = 0
    for owner in owners:
        target = upload_root / owner.path
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(handle)
        try:
            _draw(Path(temporary), owner)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        written += 1
    return written


def _draw(path: Path, owner: CvOwner) -> None:
    rng = random.Random(owner.path)  # demo content, not security
    canvas = Canvas(str(path), pagesize=A4, invariant=True)
    canvas.setTitle(f"CV {owner.prenom} {owner.nom}")
    y = A4[1] - 72
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawString(72, y, f"{owner.prenom} {owner.nom}")
    y -= 22
    canvas.setFont("Helvetica", 10)
    canvas.drawString(72, y, f"{owner.email} · {owner.telephone} · {owner.commune} (Guadeloupe)")
    y -= 30
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawString(72, y, f"Objectif : formation « {owner.formation} » ({owner.domaine})")
    sections = (
        ("Expérience professionnelle", _experience(rng)),
        ("Formation", [DIPLOMAS[int(rng.random() * len(DIPLOMAS))]]),
        ("Compétences", rng.sample(SKILLS, 2)),
    )
    for title, lines in sections:
        y -= 30
        canvas.setFont("Helvetica-Bold", 12)
        canvas.drawString(72, y, title)
        canvas.setFont("Helvetica", 10)
        for line in lines:
            y -= 16
            canvas.drawString(84, y, f"- {line}")
    canvas.showPage()
    canvas.save()


def _experience(rng: random.Random) -> list[str]:
    lines = []
    year = 2025
    for _ in range(2 + int(rng.random() * 2)):
        length = 1 + int(rng.random() * 3)
        job = PREVIOUS_JOBS[int(rng.random() * len(PREVIOUS_JOBS))]
        company = COMPANY_PREFIXES[int(rng.random() * len(COMPANY_PREFIXES))]
        lines.append(f"{year - length}-{year} : {job}, {company} SARL")
        year -= length
    return lines
