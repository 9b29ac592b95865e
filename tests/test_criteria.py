"""The criteria loader: the shipped files load, and broken files are refused with a message
naming the file, the line, the place and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main as cdht
from bot.data import CRITERIA_DIR, load_criteria
from flows.criteria import CriteriaError, parse_criteria

SMALL = """\
id: small
languages: [vi, en]
name: {vi: Nhỏ, en: Small}
provenance: {decision: test, wording: test, replace: test}
max_total: 20
thresholds:
  title: {total: 16, total_difficult_area: 14, min_indicator: 5}
competencies:
  - code: "1"
    name: {vi: Một, en: One}
    max: 20
    indicators:
      - {code: "1.1", max: 10, name: {vi: A, en: A}}
      - {code: "1.2", max: 10, name: {vi: B, en: B}}
groups:
  - code: "1"
    name: {vi: Nhóm, en: Group}
    questions:
      "1.1":
        text: {vi: "Câu a?", en: "Question a?"}
        hint: {vi: Gợi ý, en: Hint}
        suggestion: {vi: Nên, en: Should}
        options:
          - {points: 10, text: {vi: Tốt, en: Good}}
          - {points: 5, text: {vi: Vừa, en: Fair}}
          - {points: 0, text: {vi: Chưa, en: Not yet}}
      "1.2":
        text: {vi: "Câu b?", en: "Question b?"}
        hint: {vi: Gợi ý, en: Hint}
        suggestion: {vi: Nên, en: Should}
        options:
          - {points: 10, text: {vi: Tốt, en: Good}}
          - {points: 4, text: {vi: Vừa, en: Fair}}
          - {points: 0, text: {vi: Chưa, en: Not yet}}
"""


@pytest.mark.parametrize(
    ("words", "group"),
    [
        ("tôi buôn bán", "2"),
        ("bán tạp hóa ở chợ", "2"),
        ("về hưu", "1"),
        ("toi ve huu roi", "1"),
        ("cán bộ hưu trí", "1"),  # retired: a resident now
        ("nội trợ", "1"),
        ("làm ruộng", "1"),
        ("tự kinh doanh", "2"),
        ("chủ doanh nghiệp", "3"),
        ("tôi là giáo viên", "3"),
        ("đang học lớp 9", "4"),
        ("retired", "1"),
        ("giáo viên về hưu", "1"),  # retired: whatever the work was
        ("công chức nghỉ hưu", "1"),
        ("tôi làm ở công ty", "2"),
        ("giám đốc công ty", "3"),
    ],
)
def test_words_about_ones_work_place_one_in_a_group(words, group):
    found = load_criteria("cdht-2023").guess_group(words)
    assert found is not None and found.code == group


def test_words_that_say_nothing_about_work_place_no_one():
    assert load_criteria("cdht-2023").guess_group("xin chào") is None


def test_shipped_learning_citizen_set_matches_the_national_structure():
    cdht = load_criteria("cdht-2023")
    assert [g.code for g in cdht.groups] == ["1", "2", "3", "4"]
    assert [g.name["vi"] for g in cdht.groups] == [
        "Nhóm 1: Nông dân, người dân ở xã, phường",
        "Nhóm 2: Công nhân, người lao động",
        "Nhóm 3: Cán bộ, công chức, viên chức, doanh nhân",
        "Nhóm 4: Học sinh, sinh viên, học viên",
    ]
    assert all(g.who and g.keywords for g in cdht.groups)
    assert [(c.max_points, len(c.indicators)) for c in cdht.competencies] == [
        (40, 4),
        (40, 4),
        (20, 2),
    ]
    assert all(i.max_points == 10 for i in cdht.indicators)
    assert cdht.max_total == 100
    assert (cdht.title.total, cdht.title.total_difficult_area, cdht.title.min_indicator) == (
        80,
        70,
        5,
    )
    assert "324/QĐ-KHVN" in cdht.provenance["decision"]
    for group in cdht.groups:
        assert [q.indicator for q in group.questions] == [i.code for i in cdht.indicators]
        for q in group.questions:
            assert 3 <= len(q.options) <= 5
            assert q.text["vi"] and q.text["en"] and q.hint["vi"] and q.suggestion["en"]
    # Questions are written for each group, not copied across them.
    farmer, pupil = cdht.group("1").question("1.1"), cdht.group("4").question("1.1")
    assert "trồng trọt" in farmer.text["vi"] and "sách giáo khoa" in pupil.text["vi"]


def test_shipped_learning_unit_set_follows_circular_22():
    unit = load_criteria("dvht-tt22-2020")
    assert [c.max_points for c in unit.competencies] == [30, 30, 40]
    assert sorted({i.max_points for i in unit.indicators}) == [5, 10, 25]
    assert [(b.code, b.min_total) for b in unit.bands] == [
        ("tot", 85),
        ("kha", 70),
        ("trung_binh", 50),
        ("khong_dat", 0),
    ]
    assert unit.title is None


def test_small_valid_file_loads():
    assert parse_criteria(SMALL, "small.yaml").max_total == 20


def _line_of(text: str, needle: str | tuple[str, int]) -> int:
    needle, occurrence = needle if isinstance(needle, tuple) else (needle, 1)
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence - 1]


BROKEN = [
    pytest.param(
        SMALL.replace("- {points: 4, text", "- {points: 12, text"),
        "- {points: 12",
        "groups → 0 → questions → 1.2 → options → 1 → points",
        "points 12 is above indicator 1.2's maximum of 10",
        id="points-above-maximum",
    ),
    pytest.param(
        SMALL.replace('{code: "1.2", max: 10', '{code: "1.2", max: 8'),
        "    max: 20",
        "competencies → 0 → max",
        "indicators' maxima add up to 18",
        id="maxima-do-not-add-up",
    ),
    pytest.param(
        SMALL.replace('{code: "1.2", max: 10', '{code: "1.1", max: 10'),
        ('{code: "1.1", max: 10', 2),
        "competencies → 0 → indicators → 1 → code",
        "duplicate code '1.1'",
        id="duplicate-code",
    ),
    pytest.param(
        SMALL.replace("total: 16,", "total: 160,"),
        "title: {total: 160",
        "thresholds → title → total",
        "total 160 is out of range. Use a number from 1 to 20",
        id="threshold-out-of-range",
    ),
    pytest.param(
        SMALL.replace("min_indicator: 5}", "min_indicator: 11}"),
        "min_indicator: 11",
        "thresholds → title → min_indicator",
        "min_indicator 11 is out of range",
        id="min-indicator-out-of-range",
    ),
    pytest.param(
        SMALL[: SMALL.index("    questions:")] + "    questions: {}\n",
        "questions: {}",
        "groups → 0 → questions",
        "group 1 has no questions",
        id="group-without-questions",
    ),
    pytest.param(
        SMALL.replace("hint: {vi: Gợi ý, en: Hint}", "hint: {vi: Gợi ý}", 1),
        "hint: {vi: Gợi ý}",
        "groups → 0 → questions → 1.1 → hint → en",
        "missing translation: there is no 'en' text",
        id="missing-translation",
    ),
    pytest.param(
        SMALL.replace(
            '      "1.2":\n        text: {vi: "Câu b?"', '      "9.9":\n        text: {vi: "Câu b?"'
        ),
        '"9.9":',
        "groups → 0 → questions → 9.9",
        "there is no indicator '9.9'",
        id="unknown-indicator",
    ),
    pytest.param(
        SMALL.replace(
            "- {points: 10, text: {vi: Tốt, en: Good}}\n          - {points: 4",
            "- {points: 9, text: {vi: Tốt, en: Good}}\n          - {points: 4",
        ),
        '"1.2":',
        "groups → 0 → questions → 1.2 → options",
        "no option gives indicator 1.2's maximum",
        id="maximum-unreachable",
    ),
]


@pytest.mark.parametrize(("text", "line_marker", "place", "problem"), BROKEN)
def test_broken_files_are_refused_with_where_what_and_how(text, line_marker, place, problem):
    with pytest.raises(CriteriaError) as caught:
        parse_criteria(text, "province.yaml")
    message = str(caught.value)
    assert message.startswith("province.yaml, line ")
    assert place in message
    assert problem in message
    if line_marker != '"1.2":':
        assert caught.value.line == _line_of(text, line_marker)


def test_invalid_yaml_names_the_line():
    with pytest.raises(CriteriaError, match=r"bad.yaml, line 3: this is not valid YAML"):
        parse_criteria("id: x\nname: {vi: a\nlanguages: [vi\n", "bad.yaml")


def test_cli_checks_a_file_a_province_edited(tmp_path: Path, capsys):
    good = tmp_path / "tinh.yaml"
    good.write_text((CRITERIA_DIR / "cdht-2023.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert cdht(["criteria-check", str(good)]) == 0
    assert "hợp lệ (4 nhóm, 10 chỉ số)" in capsys.readouterr().out  # vi by default
    bad = tmp_path / "sai.yaml"
    bad.write_text(
        good.read_text(encoding="utf-8").replace("{points: 7,", "{points: 17,", 1), encoding="utf-8"
    )
    assert cdht(["criteria-check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sai.yaml, line" in err and "points 17 is above" in err


def test_every_question_reads_with_its_answers():
    """Frequencies answer "how often" questions, not yes/no ones; the answer about checking
    information is not "I never change how I work"; group 1 is asked about life in a
    commune or a ward, with farming as one example."""
    cdht = load_criteria("cdht-2023")
    frequencies = {"Hằng ngày hoặc hầu hết các ngày", "Thường xuyên, hằng tháng"}
    for group in cdht.groups:
        for q in group.questions:
            first = q.options[0].text["vi"]
            if first in frequencies:
                assert "bao lâu một lần?" in q.text["vi"], (group.code, q.indicator)
            assert not (
                "kiểm chứng" in q.text["vi"] and any("cách làm" in o.text["vi"] for o in q.options)
            ), (group.code, q.indicator)
    farmers = cdht.group("1")
    assert not any(
        word in q.text["vi"] for q in farmers.questions for word in ("ruộng vườn", "đồng áng")
    )
    assert "tổ dân phố" in farmers.question("3.1").text["vi"]
