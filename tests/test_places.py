"""The official post-2025 list, searched without accents."""

from __future__ import annotations

import pytest

from bot.data import load_gazetteer
from flows.places import is_exact

PLACES = load_gazetteer()


def test_the_2025_list_has_34_provinces_and_3321_communes():
    assert len(PLACES.provinces) == 34
    assert PLACES.commune_count == 3321


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("hoan kiem", "Phường Hoàn Kiếm"),
        ("Hoàn Kiếm", "Phường Hoàn Kiếm"),
        ("phuong hoan kiem", "Phường Hoàn Kiếm"),
        ("HOAN-KIEM", "Phường Hoàn Kiếm"),
        ("ba dinh", "Phường Ba Đình"),
        ("70", "Phường Hoàn Kiếm"),
    ],
)
def test_communes_are_found_without_accents(text, first):
    found = PLACES.find_communes(1, text)  # Hà Nội
    assert found and found[0].name == first


def test_a_commune_of_another_province_is_not_offered():
    assert PLACES.find_communes(48, "hoan kiem") == []  # Đà Nẵng
    assert PLACES.find_communes(48, "70") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ha noi", "Thành phố Hà Nội"),
        ("hcm", "Thành phố Hồ Chí Minh"),
        ("sai gon", "Thành phố Hồ Chí Minh"),
        ("ha tinh", "Hà Tĩnh"),
    ],
)
def test_provinces_by_name_or_common_alias(text, name):
    found = PLACES.find_provinces(text)
    assert found[0].name == name and is_exact(text, found[0])


def test_a_partial_name_is_not_exact():
    ba = PLACES.find_communes(1, "ba")
    assert len(ba) > 5 and not any(is_exact("ba", c) for c in ba)
