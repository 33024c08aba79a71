"""The message catalogue: complete for vi and en, an office's own .po on top, the check that
fails when a text is missing, and every tablet screen in both locales with every glyph in the
font and no text overflowing its box (screenshots for the docs)."""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pygame
import pytest
from jinja2 import Environment

from edge import i18n
from edge import protocol as P
from edge.config import check, load
from edge.config.messages import explain
from edge.i18n import tool
from edge.ui import save_screenshot
from edge.ui import text as ui_text
from kiosk.tablet.screens import DEFAULT_REASONS, Screen, TabletScreens

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path(os.environ.get("MOTCUA_SCREENSHOTS", ROOT / "docs" / "screenshots"))
EXAMPLE = ROOT / "config" / "examples" / "commune.toml"

OVERRIDE = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Cảm ơn ông/bà!"
msgstr "Cảm ơn quý khách đã đến phường!"

msgid "Cán bộ: {name}"
msgstr "Đồng chí {name}"

msgid "Số {number}"
msgstr "Số {so}"
'''


@pytest.fixture(autouse=True)
def shipped_texts():
    i18n.use_office_dir(None)
    yield
    i18n.use_office_dir(None)


def test_catalogues_are_complete_for_the_code() -> None:
    """Every marked text of the code is in vi and en, translated, and no converted module
    shows a Vietnamese literal outside the catalogue (`motcua i18n check`)."""
    assert tool.check() == []
    assert tool.cli_main(["check"]) == 0
    texts = tool.extract()
    assert ("Quầy tạm nghỉ" in {k[1] for k in texts} and ("Yêu cầu không hợp lệ." in {k[1] for k in texts}))
    for code in P.ERROR_CODES:
        assert (None, P.ERROR_MESSAGES[code]) in texts, code


def test_the_wheel_carries_the_catalogues() -> None:
    """pyproject's package data names the .po files the daemons read (no .mo is built)."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    shipped = {p for pattern in data["edge.i18n"] for p in i18n.LOCALE_DIR.parent.glob(pattern)}
    assert shipped == {i18n.po_path(loc) for loc in i18n.LOCALES}


def test_the_check_fails_on_a_text_missing_untranslated_or_unmarked(tmp_path: Path) -> None:
    pkg = tmp_path / "kiosk"
    pkg.mkdir()
    (pkg / "new.py").write_text('"""Một màn hình mới."""\nfrom edge.i18n import t\n\n'
                                'A = t("Một câu chưa có trong danh mục")\nB = "Chữ chưa đánh dấu"\n'
                                'C = t("Quầy tạm nghỉ")\n', encoding="utf-8")
    problems = tool.check(tmp_path)
    missing = [p for p in problems if "Một câu chưa có trong danh mục" in p and "missing from the catalogue" in p]
    assert len(missing) == 2, problems  # vi and en
    assert not any("Quầy tạm nghỉ" in p and "missing" in p for p in problems)
    found = tool.unmarked(tmp_path, ("kiosk/new.py",))
    assert [s for _, s in found] == ["Chữ chưa đánh dấu"]  # the docstring and the t() texts are fine

    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locales")
    po = tmp_path / "locales" / "en" / "LC_MESSAGES" / "motcua.po"
    text = po.read_text(encoding="utf-8")
    text = text.replace('msgstr "Counter closed"', 'msgstr ""')
    text = text.replace('msgstr "Officer: {name}"', 'msgstr "Officer: {nam}"')
    po.write_text(text, encoding="utf-8")
    cat = tool._read(po, "en")
    probs = tool._problems_of(cat, "en", "en/motcua.po", tool.extract())
    assert any("'Quầy tạm nghỉ'" in p and "untranslated" in p for p in probs), probs
    assert any("'Cán bộ: {name}'" in p and "placeholders" in p for p in probs), probs


def test_update_adds_new_texts_drops_gone_ones_and_keeps_translations(tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    shutil.copytree(i18n.LOCALE_DIR, locales)
    code = tmp_path / "code"
    (code / "kiosk").mkdir(parents=True)
    (code / "kiosk" / "a.py").write_text('from edge.i18n import t, nt\nA = t("Quầy tạm nghỉ")\n'
                                         'B = t("Một câu mới")\nC = nt("{n} người", "{n} người", 3)\n',
                                         encoding="utf-8")
    report = tool.update(code, locales)
    assert report["vi"][0] == 2 and report["en"][0] == 2 and report["en"][1] > 100
    vi = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in tool._read(i18n.po_path("vi", locales), "vi") if m.id}
    en = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in tool._read(i18n.po_path("en", locales), "en") if m.id}
    assert set(vi) == set(en) == {"Quầy tạm nghỉ", "Một câu mới", "{n} người"}
    assert vi["Một câu mới"] == "Một câu mới" and en["Một câu mới"] == ""
    assert en["Quầy tạm nghỉ"] == "Counter closed"  # kept
    assert en["{n} người"] == ("", "")
    problems = tool.check(code, locale_dir=locales)
    assert any("'Một câu mới'" in p and "untranslated (en)" in p for p in problems), problems
    before = i18n.po_path("en", locales).read_bytes()
    assert tool.update(code, locales) == {"vi": (0, 0), "en": (0, 0)}
    assert i18n.po_path("en", locales).read_bytes() == before  # a second run changes nothing


def test_translations_plurals_and_formatting() -> None:
    assert i18n.t("Quầy tạm nghỉ", "en") == "Counter closed"
    assert i18n.t("Quầy tạm nghỉ") == "Quầy tạm nghỉ"
    assert i18n.t("Số {number}", "en", number="2023") == "No. 2023"
    one = "Nhập sai nhiều lần. Thử lại sau {n} phút."
    assert i18n.nt(one, one, 1, "en") == "Too many wrong attempts. Try again in 1 minute."
    assert i18n.nt(one, one, 5, "en") == "Too many wrong attempts. Try again in 5 minutes."
    assert i18n.nt(one, one, 5, "vi") == "Nhập sai nhiều lần. Thử lại sau 5 phút."
    assert i18n.t("Câu không có trong danh mục", "en") == "Câu không có trong danh mục"
    assert i18n.catalogue("fr").locale == "vi"
    assert i18n.language_name("vi") == "Tiếng Việt" and i18n.language_name("en") == "English"
    vi, en = explain({"type": "missing", "loc": ("office", "name")})
    assert vi == "thiếu thiết lập bắt buộc: thêm dòng name = ..." and en == "required setting is missing: add name = ..."


def test_an_office_po_overrides_texts_without_touching_the_code(tmp_path: Path, caplog) -> None:
    cfg_dir = tmp_path / "phuong"
    cfg_dir.mkdir()
    shutil.copy(EXAMPLE, cfg_dir / "office.toml")
    (cfg_dir / "motcua.vi.po").write_text(OVERRIDE, encoding="utf-8")
    assert i18n.t("Cảm ơn ông/bà!") == "Cảm ơn ông/bà!"
    load(cfg_dir / "office.toml")  # loading the office's config picks up its own texts
    assert i18n.t("Cảm ơn ông/bà!") == "Cảm ơn quý khách đã đến phường!"
    assert i18n.t("Cán bộ: {name}", "vi", name="Lan") == "Đồng chí Lan"
    assert i18n.t("Cảm ơn ông/bà!", "en") == "Thank you!"  # only the Vietnamese was overridden
    assert i18n.t("Quầy tạm nghỉ") == "Quầy tạm nghỉ"  # the rest stays shipped
    with caplog.at_level(logging.WARNING, "edge.i18n"):
        assert i18n.t("Số {number}", "vi", number="7") == "Số 7"  # a broken placeholder falls back
    assert "does not format" in caplog.text
    problems = tool.check(office=cfg_dir)
    assert len(problems) == 1 and "motcua.vi.po: 'Số {number}'" in problems[0] and "['so']" in problems[0], problems

    cfg, errors, warns = check(cfg_dir / "office.toml")  # `motcua config check` says it too
    assert cfg is not None and not errors
    assert [str(w) for w in warns if w.field == "(texts)"] == [
        f"{cfg_dir / 'motcua.vi.po'}: (texts): CẢNH BÁO / WARNING: 'Số {{number}}': chỗ điền ['so'] không có "
        "trong nguồn / placeholders not in the source"]

    (cfg_dir / "motcua.vi.po").write_text(OVERRIDE.replace("msgid \"Số {number}\"", "msgid \"Không có câu này\"")
                                          .replace("{so}", "{number}"), encoding="utf-8")
    i18n.use_office_dir(cfg_dir)
    assert any("Không có câu này" in p and "not in the code" in p for p in tool.check(office=cfg_dir))

    (cfg_dir / "motcua.vi.po").write_bytes(b"msgid \"x\nmsgstr \xff\xfe")
    i18n.use_office_dir(cfg_dir)
    with caplog.at_level(logging.ERROR, "edge.i18n"):
        assert i18n.t("Cảm ơn ông/bà!") == "Cảm ơn ông/bà!"  # an unreadable file: shipped texts, logged


def test_the_office_chooses_its_form_of_address(tmp_path: Path) -> None:
    (tmp_path / "motcua.vi.po").write_text(OVERRIDE.replace("{so}", "{number}"), encoding="utf-8")
    assert tool.cli_main(["address", "quý khách", "--office", str(tmp_path)]) == 0
    i18n.use_office_dir(tmp_path)
    assert i18n.t("Mời ông/bà đánh giá mức độ hài lòng") == "Mời quý khách đánh giá mức độ hài lòng"
    assert i18n.t("Ông/bà chưa hài lòng vì điều gì? (chọn một hoặc nhiều)").startswith("Quý khách chưa hài lòng")
    assert i18n.t("Cán bộ: {name}", "vi", name="Lan") == "Đồng chí Lan"  # the office's other texts kept
    assert i18n.t("Cảm ơn ông/bà!") == "Cảm ơn quý khách đã đến phường!"  # its own sentence has no "ông/bà"
    assert i18n.t("Mời ông/bà đánh giá mức độ hài lòng", "en") == "Please rate our service"
    tool.set_address(tmp_path, "anh/chị")  # a second choice replaces the first
    i18n.use_office_dir(tmp_path)
    assert i18n.t("Ý kiến của ông/bà (không bắt buộc)") == "Ý kiến của anh/chị (không bắt buộc)"
    assert tool.check(office=tmp_path) == []


def test_wire_errors_stay_vietnamese_and_follow_the_office(tmp_path: Path) -> None:
    reply = P.error_reply("r-1", "counter_closed")
    assert reply["error"]["message"] == "Quầy đang đóng."
    (tmp_path / "motcua.vi.po").write_text('msgid "Quầy đang đóng."\nmsgstr "Quầy đang đóng, mời ông/bà sang quầy khác."\n',
                                           encoding="utf-8")
    (tmp_path / "motcua.en.po").write_text('msgid "Quầy đang đóng."\nmsgstr "Closed here."\n', encoding="utf-8")
    i18n.use_office_dir(tmp_path)
    reply = P.error_reply("r-2", "counter_closed")
    assert reply["error"]["message"] == "Quầy đang đóng, mời ông/bà sang quầy khác."
    assert i18n.t(P.ERROR_MESSAGES["counter_closed"], "en") == "Closed here."


def test_jinja_templates_read_the_same_catalogue() -> None:
    env = Environment(autoescape=True)
    i18n.install(env, "en")
    tpl = env.from_string('{% trans %}Quầy tạm nghỉ{% endtrans %} | {{ _("Hài lòng") }} | '
                          '{{ ngettext("cần ít nhất {n} mục", "cần ít nhất {n} mục", 2) }}')
    assert tpl.render() == "Counter closed | Satisfied | needs at least {n} items"


# ------------------------------------------------------------------ the tablet screens


def _states(s: TabletScreens):
    """Drive the tablet through every screen, yielding (name, screen)."""
    s.on_counter("open", "Nguyễn Thị Phương Thảo", "2023")
    yield "rest", Screen.REST
    s.on_counter("open", None, None)
    yield "rest-none", Screen.REST
    s.on_counter("paused", "Nguyễn Thị Lan", None)
    yield "paused", Screen.REST
    s.on_counter("closed", None, None)
    yield "closed", Screen.REST
    s.on_counter("open", "Nguyễn Thị Lan", "2023")
    s.on_done("20261123-HT-0023", "2023")
    yield "rate", Screen.RATE
    s.tap(next(b.rect.center for b in s.buttons if b.value == "level:unsatisfied"))
    for i in (0, 2):
        s.tap(next(b.rect.center for b in s.buttons if b.value == f"reason:{i}"))
    s.draft.comment = "Chờ lâu quá, cần thêm ghế ngồi"
    s._go(s.screen)
    yield "reasons", Screen.REASONS
    s.tap(next(b.rect.center for b in s.buttons if b.value == "comment"))
    yield "comment", Screen.COMMENT
    s.tap(s.keyboard.key_at("enter").center)
    s.tap(next(b.rect.center for b in s.buttons if b.value == "send"))
    yield "thanks", Screen.THANKS


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_tablet_screen_fits_in_both_locales(locale: str, caplog) -> None:
    pygame.display.init()
    surface = pygame.display.set_mode((1024, 600))
    ui_text._audited.clear()
    s = TabletScreens((1024, 600), 3, "Quầy 3 - Hộ tịch", ["Chậm", "Hướng dẫn sai", "Thái độ", "Đòi thêm giấy tờ",
                                                           "Khác"], 20, lambda f: None, lambda d, fn: None,
                      locale=locale)
    seen = []
    with caplog.at_level(logging.WARNING, "edge.ui.text"):
        for name, screen in _states(s):
            assert s.screen == screen and s.locale == locale
            s.draw(surface)
            seen.append(name)
            if name in ("rest", "rate", "reasons", "comment", "thanks", "closed"):
                save_screenshot(surface, SHOTS / (f"tablet-{name}.png" if locale == "vi" else f"tablet-{name}-en.png"))
    assert seen == ["rest", "rest-none", "paused", "closed", "rate", "reasons", "comment", "thanks"]
    assert [r.getMessage() for r in caplog.records] == []


def test_default_reasons_show_in_the_chosen_language_and_are_sent_in_vietnamese() -> None:
    from edge.config.devices import TabletDevice

    defaults = TabletDevice(id="tablet-1", kind="tablet", counter=1).reasons
    assert set(defaults) <= set(DEFAULT_REASONS)  # the config's defaults are all in the catalogue
    pygame.display.init()
    sent = []
    s = TabletScreens((1024, 600), 3, "Quầy 3", defaults + ["Phòng chờ nóng"], 20, sent.append,
                      lambda d, fn: None, locale="en")
    s.on_done("t-1", "2023")
    s.tap(next(b.rect.center for b in s.buttons if b.value == "level:unsatisfied"))
    labels = [b.label for b in s.buttons if str(b.value).startswith("reason:")]
    assert labels == ["Slow", "Wrong guidance", "Attitude", "Asked for extra papers", "Other", "Phòng chờ nóng"]
    s.tap(next(b.rect.center for b in s.buttons if b.value == "reason:0"))
    s.tap(next(b.rect.center for b in s.buttons if b.value == "send"))
    assert sent and sent[0]["reasons"] == ["Chậm"]


def test_the_screen_audit_catches_an_overlong_office_text(tmp_path: Path, caplog) -> None:
    """The fit check above can fail: an office's own wording too long for its button, or in a
    script the font lacks, is reported."""
    (tmp_path / "motcua.vi.po").write_text(
        'msgid "Gửi đánh giá"\nmsgstr "' + "Xin gửi ý kiến đánh giá của ông/bà " * 6 + '"\n\n'
        'msgid "Cảm ơn ông/bà!"\nmsgstr "漢 Cảm ơn"\n', encoding="utf-8")
    i18n.use_office_dir(tmp_path)
    pygame.display.init()
    surface = pygame.display.set_mode((1024, 600))
    ui_text._audited.clear()
    s = TabletScreens((1024, 600), 3, "Quầy 3", ["Chậm"], 20, lambda f: None, lambda d, fn: None)
    s.on_done("t-1", "2023")
    with caplog.at_level(logging.WARNING, "edge.ui.text"):
        s._go(Screen.REASONS)
        s.draw(surface)
        s._go(Screen.THANKS)
        s.draw(surface)
    msgs = [r.getMessage() for r in caplog.records]
    assert any("Xin gửi ý kiến" in m and "overflows" in m for m in msgs), msgs
    assert any("no glyph for 漢" in m for m in msgs), msgs
