"""Config errors in our own words: Vietnamese first, English beside, with what to write instead.

pydantic's messages ("Input should be a valid date or datetime, day value is outside
expected range") are for programmers; a technician editing office.toml gets a sentence per
error type instead. Our own validators raise `bilingual(vi, en)` so they need no table.
"""
from __future__ import annotations

import difflib
from typing import Any

from edge.i18n import N_, nt, t

SEP = " ||| "


def bilingual(vi: str, en: str) -> ValueError:
    """A validator error carrying both languages (split again by `explain`)."""
    return ValueError(f"{vi}{SEP}{en}")


def said(msgid: str, **fmt: Any) -> ValueError:
    """A validator error from the catalogue: `msgid` (Vietnamese source) in both languages."""
    return bilingual(*both(msgid, **fmt))


def both(msgid: str, **fmt: Any) -> tuple[str, str]:
    """(Vietnamese, English) of one catalogue text."""
    return t(msgid, "vi", **fmt), t(msgid, "en", **fmt)


#: Vietnamese for the English messages of validators written before `bilingual` (devices.py),
#: matched by their start; {0} is the rest of the English message.
_VALIDATOR_VI = (
    ("an LED board needs the `counter`", N_("bảng LED cần counter = <số quầy> mà nó hiển thị")),
    ("a keypad needs the `counter`", N_("bàn phím cần counter = <số quầy> mà nó điều khiển")),
    ("backend 'serial' needs `port`",
     N_("backend \"serial\" cần port = \"/dev/...\" (cổng nối tiếp, ví dụ /dev/ttyUSB0)")),
    ("backend 'evdev' needs `path`",
     N_("backend \"evdev\" cần path = \"/dev/input/by-id/...\" hoặc usb = \"vendor:product\"")),
    ("template ", N_("mẫu khung (template) không dùng được: cần {text} và chỉ các trường {address} {counter} {text} "
                     "{blink} {xor}")),
    ("keymap ", N_("keymap có hành động không có; dùng next, recall, skip, finish, pause, resume, open, close, "
                   "transfer, transfer:MÃ, service:MÃ")),
)


def _choices(ctx: dict[str, Any], key: str) -> str:
    raw = str(ctx.get(key, ""))
    return ", ".join(p.strip().strip("'\"") for p in raw.replace(" or ", ", ").split(",") if p.strip())


#: pydantic's bound errors: (its ctx key, our sentence).
_BOUNDS = {"greater_than_equal": ("ge", N_("{value} không được: phải từ {limit} trở lên")),
           "greater_than": ("gt", N_("{value} không được: phải lớn hơn {limit}")),
           "less_than_equal": ("le", N_("{value} không được: phải không quá {limit}")),
           "less_than": ("lt", N_("{value} không được: phải nhỏ hơn {limit}"))}


def explain(err: dict[str, Any], known_keys: frozenset[str] = frozenset()) -> tuple[str, str]:
    """(Vietnamese, English) for one pydantic error dict."""
    kind, ctx, msg = err["type"], err.get("ctx") or {}, err.get("msg", "")
    key = next((str(x) for x in reversed(err.get("loc", ())) if isinstance(x, str)), "")
    val = err.get("input")
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        if SEP in text:
            vi, en = text.split(SEP, 1)
            return vi, en
        vi = next((v for en, v in _VALIDATOR_VI if text.startswith(en)), None)
        return (t(vi), text) if vi else (t("giá trị không hợp lệ ({error})", error=text), text)
    if kind == "extra_forbidden":
        guess = difflib.get_close_matches(key, sorted(known_keys), n=1, cutoff=0.6)
        if guess:
            return both("không có thiết lập \"{key}\"; có phải ý bạn là \"{guess}\"?", key=key, guess=guess[0])
        return both("không có thiết lập \"{key}\" (kiểm tra chính tả, hoặc xóa dòng này)", key=key)
    if kind == "missing":
        return both("thiếu thiết lập bắt buộc: thêm dòng {key} = ...", key=key)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return both("phải là số nguyên, viết không có dấu ngoặc kép, ví dụ {key} = 200", key=key)
    if kind in ("float_type", "float_parsing"):
        return both("phải là một số, ví dụ {key} = 1.5", key=key)
    if kind in ("bool_type", "bool_parsing"):
        return both("viết true hoặc false (không có dấu ngoặc kép)")
    if kind == "string_type":
        return both("phải là chữ trong dấu ngoặc kép, ví dụ {key} = \"...\"", key=key)
    if kind in ("list_type", "tuple_type"):
        return both("phải là một danh sách trong ngoặc vuông, ví dụ {key} = [\"HT\", \"DD\"]", key=key)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return both("phải là một bảng [{key}] với các thiết lập bên dưới", key=key)
    if kind == "too_short":
        n = int(ctx.get("min_length", 1))
        return tuple(nt("cần ít nhất {n} mục", "cần ít nhất {n} mục", n, lang) for lang in ("vi", "en"))  # type: ignore[return-value]
    if kind == "too_long":
        n = int(ctx.get("max_length") or 0)
        return tuple(nt("nhiều nhất {n} mục", "nhiều nhất {n} mục", n, lang) for lang in ("vi", "en"))  # type: ignore[return-value]
    if kind == "string_too_short":
        return both("không được để trống")
    if kind == "string_too_long":
        return both("dài quá {n} ký tự; hãy viết ngắn lại", n=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return both("\"{value}\" không đúng dạng (mẫu {pattern}): chỉ dùng chữ không dấu, số và . _ -",
                    value=val, pattern=ctx.get("pattern"))
    if kind == "literal_error":
        return both("\"{value}\" không phải giá trị cho phép; viết một trong: {choices}",
                    value=val, choices=_choices(ctx, "expected"))
    if kind == "union_tag_invalid":
        return both("loại thiết bị \"{kind}\" không có; viết một trong: {choices}",
                    kind=ctx.get("tag"), choices=_choices(ctx, "expected_tags"))
    if kind == "union_tag_not_found":
        return both("thiếu kind: thêm kind = \"printer\" (hoặc loại thiết bị khác)")
    if kind in _BOUNDS:
        k, msgid = _BOUNDS[kind]
        return both(msgid, value=val, limit=ctx.get(k))
    if kind.startswith(("date_", "datetime_")):
        return both("\"{value}\" không phải ngày có thật; viết YYYY-MM-DD, ví dụ 2026-09-02", value=val)
    if kind.startswith("time_"):
        return both("\"{value}\" không phải giờ hợp lệ; viết HH:MM, ví dụ 07:30", value=val)
    return (t("giá trị không hợp lệ ({error})", error=msg), msg)
