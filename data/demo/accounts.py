"""Staff accounts of the demo database and their bcrypt hashes.

DEMO MODE ONLY. These passwords are documented on purpose so that anyone can
try the embedded demo; they are never valid outside it:

========================================  ==================  ============
email                                     password            role
========================================  ==================  ============
admin@demo.cipfaro.fr                     demo-admin          admin
direction@demo.cipfaro.fr                 demo-direction      direction
secretariat@demo.cipfaro.fr               demo-secretariat    secretariat
secretariat2@demo.cipfaro.fr              demo-secretariat2   secretariat
inactif@demo.cipfaro.fr (disabled)        demo-inactif        secretariat
formateur@demo.cipfaro.fr                 demo-formateur      formateur
========================================  ==================  ============

The six accounts are hashed with bcrypt cost 12. The salt is derived from the
email so that the same seed gives the same rows (the passwords are public
anyway). Trainees, extra trainers and recruiters share one precomputed hash
of a random password nobody knows: they never sign in to the dashboard, and
hashing hundreds of thousands of passwords would take hours.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

import bcrypt

STAFF_BCRYPT_COST = 12

# bcrypt (cost 12) of a random password that was thrown away.
UNUSABLE_PASSWORD_HASH = "$2b$12$2m7lo502FGge1IjB2sKQj.fvgXSAaOtkr36DOoWwYRQ8nA6GjE4xS"  # noqa: S105 - not a password

_STD_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_B64 = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT_B64 = bytes.maketrans(_STD_B64, _BCRYPT_B64)


@dataclass(frozen=True)
class DemoAccount:
    """A sign-in account of the demo database (documented password)."""

    email: str
    password: str
    role: str
    prenom: str
    nom: str
    actif: bool = True


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin@demo.cipfaro.fr", "demo-admin", "admin", "Alix", "Administrateur"),
    DemoAccount("direction@demo.cipfaro.fr", "demo-direction", "direction", "Hélène", "Bélénus"),
    DemoAccount(
        "secretariat@demo.cipfaro.fr", "demo-secretariat", "secretariat", "Maëlys", "Théodore"
    ),
    DemoAccount(
        "secretariat2@demo.cipfaro.fr", "demo-secretariat2", "secretariat", "Joël", "Nérée"
    ),
    DemoAccount(
        "inactif@demo.cipfaro.fr", "demo-inactif", "secretariat", "Josiane", "Cornélie", False
    ),
    DemoAccount("formateur@demo.cipfaro.fr", "demo-formateur", "formateur", "Cédric", "Lacroix"),
)


def _salt_for(email: str) -> bytes:
    digest = hashlib.sha256(f"cipfaro-demo:{email}".encode()).digest()[:16]
    encoded = base64.b64encode(digest).rstrip(b"=").translate(_TO_BCRYPT_B64)
    # 16 bytes -> 22 characters, exactly bcrypt's salt field.
    return b"$2b$%02d$" % STAFF_BCRYPT_COST + encoded


# What demo_password_hash computes for DEMO_ACCOUNTS (about 0.3 s each), so that
# generating the demo does not pay for it every time. A changed password
# misses this table and is hashed again; tests check every hash verifies.
_PRECOMPUTED: dict[tuple[str, str], str] = {
    (
        "admin@demo.cipfaro.fr",
        "demo-admin",
    ): "$2b$12$RUbRRmH33FaFBtvgxDytw.dDSyBoD16EEwzmqeg.mg3YmNMz8wB8u",
    (
        "direction@demo.cipfaro.fr",
        "demo-direction",
    ): "$2b$12$vXbcaCw7Pldw.LvRERF/cu5skbarlM.F1lHaEXw/EQO2HQXhHI5RC",
    (
        "secretariat@demo.cipfaro.fr",
        "demo-secretariat",
    ): "$2b$12$kUqavSUHuisQUN9Yxst5NOqOaK01VnFdtWePv5PFA8jiIcKnRGxbi",
    (
        "secretariat2@demo.cipfaro.fr",
        "demo-secretariat2",
    ): "$2b$12$4QEyPh3q9Ka5S2BY470.COsHIqvQ.6peY.TN680C5kdoUEvroitjG",
    (
        "inactif@demo.cipfaro.fr",
        "demo-inactif",
    ): "$2b$12$gNf4I/JkyUrZnge4HGPW9usD7tmy.8VltOXgAGZmBdtgiIVQC51d.",
    (
        "formateur@demo.cipfaro.fr",
        "demo-formateur",
    ): "$2b$12$6D0XGBOPyHn6xMYeMzr2HuVSgbnGWJPmz96lQE.v0/IBJzZ2LnSHi",
}


def demo_password_hash(email: str, password: str) -> str:
    """bcrypt (cost 12) of ``password`` with a salt derived from ``email`` (demo only)."""
    known = _PRECOMPUTED.get((email, password))
    return known if known is not None else hash_with_derived_salt(email, password)


@functools.cache
def hash_with_derived_salt(email: str, password: str) -> str:
    return bcrypt.hashpw(password.encode(), _salt_for(email)).decode()
