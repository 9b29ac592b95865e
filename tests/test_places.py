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


# --- the names of before 1 July 2025 -------------------------------------------------


def test_the_old_names_are_those_vietnamadminunits_gives():
    """flows/old_communes.csv is made from the data package, not typed: an upgrade of the
    package without `make old-communes` fails here."""
    pytest.importorskip("vietnamadminunits", reason="the dev extra is not installed")
    from tools import old_communes

    assert old_communes.OUT.read_text(encoding="utf-8") == old_communes.render()


def test_every_old_commune_leads_to_communes_of_its_new_province():
    formers = [f for p in PLACES.provinces for f in PLACES._formers.get(p.code, [])]
    assert sum(not f.is_district for f in formers) == 10040 - 5  # 5 island districts had none
    assert sum(f.is_district for f in formers) >= 690
    for former in formers:
        assert former.communes
        for code in former.communes:
            commune = PLACES.commune(code)
            assert commune is not None and commune.province_code == former.province_code


def test_an_old_commune_name_finds_the_commune_it_became_part_of():
    found = PLACES.search(42, "thach dai")  # Hà Tĩnh
    assert found.communes == []
    (former,) = found.formers
    assert (former.name, former.district) == ("Xã Thạch Đài", "Thành phố Hà Tĩnh")
    assert [PLACES.commune(c).name for c in found.choices()] == ["Phường Hà Huy Tập"]
    # With its kind, with accents: the same.
    assert PLACES.search(42, "Xã Thạch Đài").formers == [former]


def test_an_old_district_offers_every_commune_its_communes_went_to():
    found = PLACES.search(42, "huyen thach ha")
    (district,) = found.formers
    assert district.is_district and district.name == "Huyện Thạch Hà"
    names = [PLACES.commune(c).name for c in found.choices()]
    assert "Xã Thạch Hà" in names and len(names) >= 5


def test_an_old_name_that_is_also_the_new_one_is_not_repeated():
    # Phường Hoàn Kiếm (old) became part of Phường Hoàn Kiếm (new): only the commune.
    found = PLACES.search(1, "hoan kiem")
    assert [c.name for c in found.communes] == ["Phường Hoàn Kiếm"]
    assert all(not f.name.startswith("Phường Hoàn Kiếm") for f in found.formers)


def test_a_merged_province_is_found_by_its_old_name():
    (former, *_) = PLACES.find_former_provinces("ha giang")
    assert former.name == "Tỉnh Hà Giang" and is_exact("ha giang", former)
    assert PLACES.province(former.code).name == "Tuyên Quang"
    # Provinces that kept their name are not "former" ones.
    assert PLACES.find_former_provinces("ha noi") == []
    assert PLACES.find_former_provinces("ha tinh") == []
    assert len(PLACES.former_provinces) == 63 - 34  # each of the 34 kept an old name


def test_every_short_search_in_every_province_answers():
    """Two communes of a province may share a name: the search must still order them."""
    for province in PLACES.provinces:
        for text in ("thanh", "tan", "an", "phu", "binh", "a", "1", "huyen", "xa"):
            PLACES.search(province.code, text)
