"""What storage hands the flows about a person, built from a row the same way wherever it
is read (a conversation's load, a paper form found by phone)."""

from __future__ import annotations

from typing import Any

from flows.model import Profile


def profile_of(row: Any) -> Profile:
    """A person's registration from a row with the people table's column names."""
    return Profile(
        full_name=row.full_name,
        birth_year=row.birth_year,
        gender=row.gender,
        group=row.group_code,
        province_code=row.province_code,
        commune_code=row.commune_code,
        village=row.village,
        phone=row.phone,
    )
