"""Posters for communes (issue 22): the PDF opens, has a page per commune, and its QR
codes decode to the exact links that open the bot with the commune chosen; the Zalo short
code printed on it chooses the commune too (tests/test_zalo.py sends it through the fake
OA); the chat command gives a province admin every commune's page."""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import zlib

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from bot import cli, posters
from bot.data import load_gazetteer
from bot.dispatcher import Dispatcher
from flows.places import Area
from tests.chat import DispatchChat
from tests.test_admin import HA_NOI, make_admin

PLACES = load_gazetteer()
LAI_CHAU = 12  # the province with the fewest communes (38)
HA_HUY_TAP = 18652  # Phường Hà Huy Tập, Hà Tĩnh: what Xã Thạch Đài (cũ) became
OA = "https://zalo.me/4321987654321"


def _png(image) -> bytes:
    """A PDF image XObject as a PNG file. matplotlib writes the codes as 1-bit indexed
    images compressed exactly as a PNG's IDAT (FlateDecode with the PNG predictors), so
    the PNG is the same bytes with a header; pypdf's own reading of 1-bit images with a
    predictor garbles the rows."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    assert image["/Filter"] == "/FlateDecode" and image["/DecodeParms"]["/Predictor"] >= 10
    _, _, last, palette = image["/ColorSpace"]
    header = struct.pack(">IIBBBBB", image["/Width"], image["/Height"], 1, 3, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", bytes(palette)[: 3 * (last + 1)])
        + chunk(b"IDAT", image._data)
        + chunk(b"IEND", b"")
    )


def decoded(page) -> set[str]:
    """The texts of the QR codes drawn on a PDF page (the images its content draws:
    matplotlib lists every page's images in each page's resources)."""
    drawn = re.findall(rb"/(\w+)\s+Do\b", page.get_contents().get_data())
    images = page["/Resources"]["/XObject"]
    found = set()
    for name in drawn:
        picture = Image.open(io.BytesIO(_png(images[f"/{name.decode()}"].get_object())))
        found.update(code.text for code in zxingcpp.read_barcodes(picture.convert("L")))
    return found


@pytest.fixture
def operator(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'poster.sqlite3'}")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@cdht_test_bot")
    monkeypatch.setenv("ZALO_OA_LINK", OA)
    monkeypatch.delenv("CDHT_LANGUAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_communes_poster_opens_the_bot_in_that_commune(operator, capsys):
    # By an old name, as people remember it: the poster is the new ward's.
    assert cli.main(["poster", "--commune", "xa thach dai", "--out", "p.pdf"]) == 0
    assert "Đã ghi áp phích của Phường Hà Huy Tập, Hà Tĩnh vào p.pdf." in capsys.readouterr().out
    [page] = PdfReader(operator / "p.pdf").pages
    assert decoded(page) == {f"https://t.me/cdht_test_bot?start=c{HA_HUY_TAP}", OA}
    text = page.extract_text()  # the text is text: TrueType fonts with every diacritic
    for words in (
        "PHONG TRÀO CÔNG DÂN HỌC TẬP",
        "Phường Hà Huy Tập",
        "Quét bằng Zalo, bấm Quan tâm",
        f"XA {HA_HUY_TAP}",
        "Khoảng 5 phút",
    ):
        assert words in text, words
    width, height = page.mediabox.width, page.mediabox.height
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    # The short code reads back as the commune, with or without accents and spaces.
    from flows.registration import poster_code

    assert poster_code(f"XA {HA_HUY_TAP}") == poster_code(f"xã{HA_HUY_TAP}") == HA_HUY_TAP
    assert poster_code("xa thach dai") is None


def test_a_province_gets_a_page_per_commune(operator, capsys):
    assert cli.main(["poster", "--province", "Lai Châu", "--out", "lc.pdf"]) == 0
    assert "38 trang, mỗi xã, phường một trang" in capsys.readouterr().out
    pages = PdfReader(operator / "lc.pdf").pages
    communes = PLACES.communes_of(LAI_CHAU)
    assert len(pages) == len(communes) == 38
    for n in (0, 37):  # the first and the last page
        assert f"https://t.me/cdht_test_bot?start=c{communes[n].code}" in decoded(pages[n])
        assert communes[n].name in pages[n].extract_text()


def test_the_poster_carries_what_is_configured_and_says_what_is_not(operator, monkeypatch, capsys):
    monkeypatch.delenv("ZALO_OA_LINK")
    assert cli.main(["poster", "--commune", "70", "--out", "hk.pdf"]) == 0
    out = capsys.readouterr().out
    assert "Chưa có trên áp phích vì chưa đặt: ZALO_OA_LINK" in out
    [page] = PdfReader(operator / "hk.pdf").pages
    assert decoded(page) == {"https://t.me/cdht_test_bot?start=c70"}
    assert "Zalo" not in page.extract_text()
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME")
    assert cli.main(["poster", "--commune", "70", "--out", "hk.pdf"]) == 2
    err = capsys.readouterr().err
    assert "áp phích chưa có gì để in: xin đặt TELEGRAM_BOT_USERNAME" in err
    assert "ZALO_OA_LINK" in err
    # Written wrongly: said plainly.
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "cdht_test_bot")
    assert cli.main(["poster", "--commune", "Hà Nội", "--out", "x.pdf"]) == 2
    assert "đó là tỉnh, thành phố; xin dùng --province" in capsys.readouterr().err
    assert cli.main(["poster", "--commune", "", "--out", "x.pdf"]) == 2
    assert "xin ghi tên hoặc mã" in capsys.readouterr().err
    assert cli.main(["poster", "--province", "12", "--out", "khong/co/x.pdf"]) == 2
    assert "không có thư mục khong/co" in capsys.readouterr().err
    assert cli.main(["poster", "--province", "Hà Nội", "--out", "x.png"]) == 2
    assert "TỆP.png chỉ dùng cho một xã, phường" in capsys.readouterr().err
    monkeypatch.setenv("ZALO_OA_LINK", "http://example.com/oa")
    assert cli.main(["poster", "--commune", "70", "--out", "x.pdf"]) == 2
    assert "ZALO_OA_LINK" in capsys.readouterr().err


async def test_admins_get_posters_in_chat(db, core, clock):
    links = posters.PosterLinks("cdht_test_bot", OA)
    dispatcher = Dispatcher(db, dataclasses.replace(core, posters=links), clock)
    ward = await make_admin(db, dispatcher, clock, "ward", Area(HA_NOI, 70))
    await ward.type("/poster")
    assert "Here is the poster for Phường Hoàn Kiếm, Thành phố Hà Nội" in ward.text
    [pdf] = [r for r in ward.replies if r.kind == "file"]
    assert pdf.file_name == "cdht-ap-phich-xa-70.pdf"
    [page] = PdfReader(io.BytesIO(pdf.file_data)).pages
    assert "https://t.me/cdht_test_bot?start=c70" in decoded(page)
    await ward.type("/poster xa:4")  # not theirs
    assert "outside your scope" in ward.text

    boss = await make_admin(db, dispatcher, clock, "boss", Area(LAI_CHAU))
    await boss.type("/language vi")
    await boss.type("/apphich")
    assert "Đây là áp phích của 38 xã, phường thuộc Lai Châu" in boss.text
    [pdf] = [r for r in boss.replies if r.kind == "file"]
    assert pdf.file_name == f"cdht-ap-phich-tinh-{LAI_CHAU}.pdf"
    assert len(PdfReader(io.BytesIO(pdf.file_data)).pages) == 38
    await boss.type("/apphich khong co xa nay")
    assert "Không tìm thấy xã, phường hay tỉnh, thành phố nào tên “khong co xa nay”" in boss.text
    assert not [r for r in boss.replies if r.kind == "file"]

    # Only one channel set: the poster carries it, and the admin is told what is missing.
    telegram_only = posters.PosterLinks("cdht_test_bot", "")
    alone = Dispatcher(db, dataclasses.replace(core, posters=telegram_only), clock)
    ward_alone = DispatchChat(alone, user="ward")
    await ward_alone.type("/poster")
    assert "Not on the poster yet, as it is not set: ZALO_OA_LINK" in ward_alone.text

    national = await make_admin(db, dispatcher, clock, "all", Area())
    await national.type("/poster")
    assert "Posters are made for a province or a commune" in national.text

    # Nothing configured: the admin is told whom to ask, not sent an empty page.
    bare = DispatchChat(Dispatcher(db, core, clock), user="ward")
    await bare.type("/poster")
    assert "TELEGRAM_BOT_USERNAME or ZALO_OA_LINK" in bare.text
    assert not [r for r in bare.replies if r.kind == "file"]


def test_two_pdfs_drawn_at_once_both_embed_their_fonts():
    """matplotlib's settings are global: drawing is serialised, the fonts stay TrueType."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.data import load_gazetteer
    from bot.i18n import load_langs

    places, t = load_gazetteer(), load_langs()["vi"]
    links = posters.PosterLinks("cdht_test_bot", OA)
    batches = [PLACES.communes_of(LAI_CHAU)[:3], PLACES.communes_of(HA_NOI)[:3]]
    with ThreadPoolExecutor(2) as pool:
        pdfs = list(pool.map(lambda cs: posters.poster_pdf(cs, places, links, t), batches))
    for pdf, communes in zip(pdfs, batches, strict=True):
        pages = PdfReader(io.BytesIO(pdf)).pages
        fonts = {
            font.get_object()["/Subtype"]
            for page in pages
            for font in page["/Resources"]["/Font"].values()
        }
        assert "/Type3" not in fonts, fonts
        assert communes[0].name in pages[0].extract_text()


def test_settings_a_poster_cannot_use_are_refused():
    from bot.config import Settings, SettingsError

    for env in (
        {"ZALO_OA_LINK": "https://evilzalo.me/1"},
        {"ZALO_OA_LINK": "https://zalo.me/"},
        {"TELEGRAM_BOT_USERNAME": "cdht_demo"},  # bot usernames end in "bot"
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(env, dotenv=None)
    assert Settings.from_env({"TELEGRAM_BOT_USERNAME": "@Cdht_HaTinh_Bot"}, dotenv=None)


def test_a_province_is_found_by_its_name_of_before_2025():
    from bot.admin_cli import _province_named

    assert _province_named("Hà Giang", PLACES) == Area(province=8)  # now in Tuyên Quang
    assert _province_named("tinh quang binh", PLACES) == Area(province=44)  # Quảng Trị
    assert _province_named("Lai Châu", PLACES) == Area(province=LAI_CHAU)
    assert _province_named("an binh", PLACES) is None  # a commune's name: read as any place
