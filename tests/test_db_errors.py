"""What data.db.translate_errors tells a person, on both databases: a refused
write is not called an unreachable database, and nothing of it is written."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, insert, select

from data.db import translate_errors
from data.errors import ConnectionLost, DataRejected
from data.models import Formation


def _formation(slug: str) -> dict[str, object]:
    return {
        "slug": slug,
        "titre": "Titre",
        "domaine": "numerique",
        "duree_heures": 10,
        "prix": 0,
        "modalite": "presentiel",
    }


def test_a_refused_write_says_so_and_writes_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(insert(Formation).values(**_formation("dup")))
    with pytest.raises(DataRejected) as caught, translate_errors(), engine.begin() as connection:
        connection.execute(insert(Formation).values(**_formation("other")))
        connection.execute(insert(Formation).values(**_formation("dup")))
    assert not isinstance(caught.value, ConnectionLost)
    assert "refusé" in str(caught.value) and "injoignable" not in str(caught.value)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Formation)).scalar_one() == 1
