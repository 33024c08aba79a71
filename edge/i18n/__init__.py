"""One message catalogue per locale: every text shown or spoken to people goes through here.

The code is written in Vietnamese and marks each people-facing sentence with a gettext
call on that Vietnamese source text: ``t("Quầy tạm nghỉ", locale)``. The msgid is the
Vietnamese sentence itself, so the code reads as what the citizen sees, and a message sent
on the wire in Vietnamese needs no lookup table. Catalogues are `.po` files read directly
through Babel (no compiled `.mo`: nothing to build at install, and an office's own `.po`
works the moment it is saved):

- ``edge/i18n/locales/{vi,en}/LC_MESSAGES/motcua.po`` ship in the wheel;
- ``<config dir>/motcua.<locale>.po``, the office's own, overrides any message of that
  locale (a province's house style, a ward's own greeting) without touching the code.

Placeholders are ``{name}`` (str.format) in Python and ``%(name)s`` in Jinja templates.
A translation that does not format (an override with a misspelt placeholder) falls back to
the source text and logs a warning: a typo in a .po never crashes a screen.
`motcua i18n extract|update|check` keeps the catalogues in step with the code (edge.i18n.tool).
"""
from __future__ import annotations

import gettext
import logging
import threading
import unicodedata
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

DOMAIN = "motcua"
SOURCE_LOCALE = "vi"
LOCALES = ("vi", "en")
LOCALE_DIR = Path(__file__).parent / "locales"

Key = tuple[str | None, str]  # (msgctxt, msgid)


def po_path(locale: str, base: Path = LOCALE_DIR) -> Path:
    """The shipped catalogue of one locale."""
    return Path(base) / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def override_path(office_dir: Path, locale: str) -> Path:
    """The office's own catalogue of one locale, beside its TOML."""
    return Path(office_dir) / f"{DOMAIN}.{locale}.po"


def read_messages(path: Path, locale: str) -> tuple[dict[Key, str | tuple[str, ...]], str]:
    """Translated, non-fuzzy messages of one .po file and its plural expression."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as fh:
        cat = read_po(fh, locale=locale, domain=DOMAIN)
    out: dict[Key, str | tuple[str, ...]] = {}
    for m in cat:
        if not m.id or m.fuzzy:
            continue
        sid = m.id[0] if isinstance(m.id, (tuple, list)) else m.id
        if isinstance(m.string, (tuple, list)):
            if all(m.string):
                out[(m.context, nfc(sid))] = tuple(nfc(s) for s in m.string)
        elif m.string:
            out[(m.context, nfc(sid))] = nfc(m.string)
    return out, cat.plural_expr


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class Catalogue:
    """The messages of one locale (shipped, then the office's own on top), gettext-shaped.

    It has the methods Jinja2's i18n extension wants (gettext, ngettext, pgettext,
    npgettext), so `install(env, locale)` hands it to a template environment as it is.
    """

    def __init__(self, locale: str, messages: dict[Key, str | tuple[str, ...]], plural_expr: str) -> None:
        self.locale = locale
        self.messages = messages
        self.plural: Callable[[int], int] = gettext.c2py(plural_expr)
        self._warned: set[str] = set()  # each missing text is logged once

    def _lookup(self, ctx: str | None, msgid: str) -> str:
        hit = self.messages.get((ctx, msgid))
        if hit is None:
            hit = self.messages.get((ctx, nfc(msgid)))
        if isinstance(hit, str):
            return hit
        if hit is None:
            self._missing(msgid)
        return msgid

    def _missing(self, msgid: str) -> None:
        if self.locale != SOURCE_LOCALE and msgid not in self._warned:
            self._warned.add(msgid)
            log.warning("no %s translation of %r", self.locale, msgid)

    def _nlookup(self, ctx: str | None, singular: str, plural: str, n: int) -> str:
        hit = self.messages.get((ctx, nfc(singular)))
        if isinstance(hit, tuple):
            i = self.plural(n)
            return hit[i] if i < len(hit) else hit[-1]
        self._missing(singular)
        return singular if n == 1 else plural

    def gettext(self, message: str) -> str:
        return self._lookup(None, message)

    def pgettext(self, context: str, message: str) -> str:
        return self._lookup(context, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._nlookup(None, singular, plural, n)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self._nlookup(context, singular, plural, n)


_lock = threading.Lock()
_cache: dict[str, Catalogue] = {}
_office_dir: Path | None = None


def use_office_dir(path: Path | str | None) -> None:
    """Read the office's own `motcua.<locale>.po` from this folder (None: shipped texts only)."""
    global _office_dir
    with _lock:
        _office_dir = Path(path) if path is not None else None
        _cache.clear()


def office_dir() -> Path | None:
    return _office_dir


def catalogue(locale: str) -> Catalogue:
    """The catalogue of `locale` (unknown locales get the Vietnamese one), read once and cached."""
    if locale not in LOCALES:
        log.warning("no catalogue for locale %r; speaking %s", locale, SOURCE_LOCALE)
        locale = SOURCE_LOCALE
    with _lock:
        cat = _cache.get(locale)
        if cat is None:
            cat = _cache[locale] = _load(locale, _office_dir)
        return cat


def _load(locale: str, office: Path | None) -> Catalogue:
    messages, plural_expr = read_messages(po_path(locale), locale)
    if office is not None:
        path = override_path(office, locale)
        if path.is_file():
            try:
                own, _ = read_messages(path, locale)
            except Exception as exc:  # noqa: BLE001 - a broken office file must not silence the screens
                log.error("office catalogue %s is unreadable, using the shipped texts: %s", path, exc)
            else:
                messages = messages | own
                log.info("office catalogue %s: %d message(s) of its own", path, len(own))
    return Catalogue(locale, messages, plural_expr)


def _format(text: str, source: str, fmt: dict[str, Any]) -> str:
    if not fmt:
        return text
    try:
        return text.format(**fmt)
    except (KeyError, IndexError, ValueError) as exc:
        log.warning("translation %r does not format (%s); using the source text", text, exc)
        return source.format(**fmt)


def t(msgid: str, locale: str = SOURCE_LOCALE, /, **fmt: Any) -> str:
    """The text of `msgid` (Vietnamese source) in `locale`, with `{name}` placeholders filled."""
    return _format(catalogue(locale).gettext(msgid), msgid, fmt)


def pt(context: str, msgid: str, locale: str = SOURCE_LOCALE, /, **fmt: Any) -> str:
    """As `t`, for a source text that needs different translations in different places."""
    return _format(catalogue(locale).pgettext(context, msgid), msgid, fmt)


def nt(singular: str, plural: str, n: int, locale: str = SOURCE_LOCALE, /, **fmt: Any) -> str:
    """A counted text ("{n} người đang chờ"); `n` is also a placeholder."""
    text = catalogue(locale).ngettext(singular, plural, n)
    return _format(text, singular if n == 1 else plural, {"n": n} | fmt)


def N_(msgid: str) -> str:
    """Mark a source text for the catalogue where it is defined; translate it with `t` where shown."""
    return msgid


def language_name(locale: str) -> str:
    """A language's name in itself ("Tiếng Việt", "English"), for a language button."""
    from babel import Locale

    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def install(env: Any, locale: str) -> None:
    """Give a Jinja2 environment this locale's catalogue (`{% trans %}`, `_()` in templates)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(catalogue(locale), newstyle=True)
