"""Config errors in our own words: Vietnamese first, English beside, with what to write instead.

pydantic's messages ("Input should be a valid date or datetime, day value is outside
expected range") are for programmers; a technician editing office.toml gets a sentence per
error type instead. Our own validators raise `bilingual(vi, en)` so they need no table.
"""
from __future__ import annotations

import difflib
from typing import Any

SEP = " ||| "


def bilingual(vi: str, en: str) -> ValueError:
    """A validator error carrying both languages (split again by `explain`)."""
    return ValueError(f"{vi}{SEP}{en}")


#: Vietnamese for the English messages of validators written before `bilingual` (devices.py),
#: matched by their start; {0} is the rest of the English message.
_VALIDATOR_VI = (
    ("an LED board needs the `counter`", "bảng LED cần counter = <số quầy> mà nó hiển thị"),
    ("a keypad needs the `counter`", "bàn phím cần counter = <số quầy> mà nó điều khiển"),
    ("backend 'serial' needs `port`", "backend \"serial\" cần port = \"/dev/...\" (cổng nối tiếp, ví dụ /dev/ttyUSB0)"),
    ("backend 'evdev' needs `path`", "backend \"evdev\" cần path = \"/dev/input/by-id/...\" hoặc usb = \"vendor:product\""),
    ("template ", "mẫu khung (template) không dùng được: cần {text} và chỉ các trường {address} {counter} {text} {blink} {xor}"),
    ("keymap ", "keymap có hành động không có; dùng next, recall, skip, finish, pause, resume, open, close, "
                "transfer, transfer:MÃ, service:MÃ"),
)


def _choices(ctx: dict[str, Any], key: str) -> str:
    raw = str(ctx.get(key, ""))
    return ", ".join(p.strip().strip("'\"") for p in raw.replace(" or ", ", ").split(",") if p.strip())


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
        return (vi, text) if vi else (f"giá trị không hợp lệ ({text})", text)
    if kind == "extra_forbidden":
        guess = difflib.get_close_matches(key, sorted(known_keys), n=1, cutoff=0.6)
        if guess:
            return (f"không có thiết lập \"{key}\"; có phải ý bạn là \"{guess[0]}\"?",
                    f"unknown setting; did you mean \"{guess[0]}\"?")
        return (f"không có thiết lập \"{key}\" (kiểm tra chính tả, hoặc xóa dòng này)",
                "unknown setting (check the spelling or remove the line)")
    if kind == "missing":
        return (f"thiếu thiết lập bắt buộc: thêm dòng {key} = ...",
                f"required setting is missing: add {key} = ...")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return (f"phải là số nguyên, viết không có dấu ngoặc kép, ví dụ {key} = 200",
                f"must be a whole number without quotes, e.g. {key} = 200")
    if kind in ("float_type", "float_parsing"):
        return (f"phải là một số, ví dụ {key} = 1.5", f"must be a number, e.g. {key} = 1.5")
    if kind in ("bool_type", "bool_parsing"):
        return ("viết true hoặc false (không có dấu ngoặc kép)", "write true or false (no quotes)")
    if kind == "string_type":
        return (f"phải là chữ trong dấu ngoặc kép, ví dụ {key} = \"...\"",
                f"must be text in double quotes, e.g. {key} = \"...\"")
    if kind in ("list_type", "tuple_type"):
        return (f"phải là một danh sách trong ngoặc vuông, ví dụ {key} = [\"HT\", \"DD\"]",
                f"must be a list in square brackets, e.g. {key} = [\"HT\", \"DD\"]")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return (f"phải là một bảng [{key}] với các thiết lập bên dưới", f"must be a table [{key}] of settings")
    if kind == "too_short":
        return (f"cần ít nhất {ctx.get('min_length', 1)} mục", f"needs at least {ctx.get('min_length', 1)} item(s)")
    if kind == "too_long":
        return (f"nhiều nhất {ctx.get('max_length')} mục", f"at most {ctx.get('max_length')} item(s)")
    if kind == "string_too_short":
        return ("không được để trống", "must not be empty")
    if kind == "string_too_long":
        return (f"dài quá {ctx.get('max_length')} ký tự; hãy viết ngắn lại",
                f"longer than {ctx.get('max_length')} characters; shorten it")
    if kind == "string_pattern_mismatch":
        return (f"\"{val}\" không đúng dạng (mẫu {ctx.get('pattern')}): chỉ dùng chữ không dấu, số và . _ -",
                f"{val!r} does not match {ctx.get('pattern')}: use unaccented letters, digits and . _ -")
    if kind == "literal_error":
        opts = _choices(ctx, "expected")
        return (f"\"{val}\" không phải giá trị cho phép; viết một trong: {opts}",
                f"{val!r} is not allowed; write one of: {opts}")
    if kind == "union_tag_invalid":
        opts = _choices(ctx, "expected_tags")
        return (f"loại thiết bị \"{ctx.get('tag')}\" không có; viết một trong: {opts}",
                f"no device kind {ctx.get('tag')!r}; write one of: {opts}")
    if kind == "union_tag_not_found":
        return ("thiếu kind: thêm kind = \"printer\" (hoặc loại thiết bị khác)",
                "kind is missing: add kind = \"printer\" (or another device kind)")
    bounds = {"greater_than_equal": ("ge", "từ {} trở lên", "at least {}"),
              "greater_than": ("gt", "lớn hơn {}", "greater than {}"),
              "less_than_equal": ("le", "không quá {}", "at most {}"),
              "less_than": ("lt", "nhỏ hơn {}", "less than {}")}
    if kind in bounds:
        k, vi, en = bounds[kind]
        limit = ctx.get(k)
        return (f"{val} không được: phải {vi.format(limit)}", f"{val} is out of range: must be {en.format(limit)}")
    if kind.startswith(("date_", "datetime_")):
        return (f"\"{val}\" không phải ngày có thật; viết YYYY-MM-DD, ví dụ 2026-09-02",
                f"{val!r} is not a real date; write YYYY-MM-DD, e.g. 2026-09-02")
    if kind.startswith("time_"):
        return (f"\"{val}\" không phải giờ hợp lệ; viết HH:MM, ví dụ 07:30",
                f"{val!r} is not a valid time; write HH:MM, e.g. 07:30")
    return (f"giá trị không hợp lệ ({msg})", msg)
