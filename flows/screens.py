"""The names of the screens, as stored in the conversation state (`state["screen"]`).

They are data in every stored conversation: renaming one strands the people who are on
it (they start again from where `flows.navigation.resume` puts them).
"""

from __future__ import annotations

from typing import Final

# Registration (đăng ký), one question each, then the confirmation.
REG_NAME: Final = "reg.name"
REG_BIRTH_YEAR: Final = "reg.birth_year"
REG_BIRTH_YEAR_CHECK: Final = "reg.birth_year_check"  # "65": born in 1965?
REG_GENDER: Final = "reg.gender"
REG_GROUP: Final = "reg.group"
REG_GROUP_HELP: Final = "reg.group_help"  # "which group am I in?"
REG_PROVINCE: Final = "reg.province"
REG_COMMUNE: Final = "reg.commune"
REG_VILLAGE: Final = "reg.village"
REG_PHONE: Final = "reg.phone"
REG_CONFIRM: Final = "reg.confirm"
REG_CLAIM: Final = "reg.claim"  # "the commune entered your paper form: is it you?"

# Self-scoring (tự đánh giá) and the menu.
MENU: Final = "menu"
QUESTION: Final = "q"
REVIEW: Final = "review"
REVIEW_PICK: Final = "review.pick"

# Side screens that return where the person was.
LANGUAGE: Final = "lang.choose"
CONFIRM_DELETE: Final = "confirm.delete"
CONFIRM_RESTART: Final = "confirm.restart"
UNIT_NAME: Final = "unit.name"

# A learning unit's self-assessment, by its focal points (flows.unit_assessment).
UNIT_MENU: Final = "unit.menu"
UNIT_WHO: Final = "unit.who"  # the focal point's name, shown beside their answers
UNIT_QUESTION: Final = "unit.q"
UNIT_REVIEW: Final = "unit.review"
UNIT_PICK: Final = "unit.pick"
UNIT_SCREENS: Final = (UNIT_MENU, UNIT_WHO, UNIT_QUESTION, UNIT_REVIEW, UNIT_PICK)

# A learning family (flows.family): its menu, registering it, joining it, leaving it, and
# its head's self-assessment.
FAMILY_MENU: Final = "family.menu"
FAMILY_ADULTS: Final = "family.adults"
FAMILY_JOIN: Final = "family.join"
FAMILY_LEAVE: Final = "family.leave"
FAMILY_QUESTION: Final = "family.q"
FAMILY_REVIEW: Final = "family.review"
FAMILY_PICK: Final = "family.pick"
FAMILY_REMOVE: Final = "family.remove"  # the head takes a member off
FAMILY_REMOVE_CONFIRM: Final = "family.remove.confirm"
FAMILY_SCREENS: Final = (
    FAMILY_MENU,
    FAMILY_ADULTS,
    FAMILY_JOIN,
    FAMILY_LEAVE,
    FAMILY_QUESTION,
    FAMILY_REVIEW,
    FAMILY_PICK,
    FAMILY_REMOVE,
    FAMILY_REMOVE_CONFIRM,
)

# An admin deciding on learning units (flows.admin.units).
UNITS_LIST: Final = "admin.units"
UNITS_ONE: Final = "admin.units.one"
UNITS_REASON: Final = "admin.units.reason"
UNITS_ADMIN: Final = (UNITS_LIST, UNITS_ONE, UNITS_REASON)

# An admin recognising titles (công nhận danh hiệu).
REC_LIST: Final = "admin.rec"
REC_ONE: Final = "admin.rec.one"
REC_REASON: Final = "admin.rec.reason"
REC_ALL: Final = "admin.rec.all"
RECOGNITION: Final = (REC_LIST, REC_ONE, REC_REASON, REC_ALL)

# An admin entering a paper form for someone without a phone (flows.admin.paperform).
PAPER_NAME: Final = "admin.paper.name"
PAPER_YEAR: Final = "admin.paper.year"
PAPER_GENDER: Final = "admin.paper.gender"
PAPER_GROUP: Final = "admin.paper.group"
PAPER_VILLAGE: Final = "admin.paper.village"
PAPER_PHONE: Final = "admin.paper.phone"
PAPER_ANSWER: Final = "admin.paper.answer"
PAPER_CONFIRM: Final = "admin.paper.confirm"
PAPER: Final = (
    PAPER_NAME,
    PAPER_YEAR,
    PAPER_GENDER,
    PAPER_GROUP,
    PAPER_VILLAGE,
    PAPER_PHONE,
    PAPER_ANSWER,
    PAPER_CONFIRM,
)
