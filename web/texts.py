"""Words of the clerk's console, Vietnamese first and English second, and the sentence
that answers each action ("Đã gọi số 2005 đến Quầy 3")."""
from __future__ import annotations

from typing import Any

PRIORITY = {
    "vi": {"none": "", "elderly": "Người cao tuổi", "disabled": "Người khuyết tật",
           "pregnant": "Phụ nữ mang thai", "child": "Người đi cùng trẻ nhỏ", "other": "Ưu tiên khác"},
    "en": {"none": "", "elderly": "Elderly", "disabled": "Disability", "pregnant": "Pregnant",
           "child": "With a small child", "other": "Other priority"},
}

UI: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Bàn làm việc của cán bộ", "login": "Đăng nhập", "user": "Tên đăng nhập",
        "password": "Mật khẩu", "logout": "Đăng xuất", "counter": "Quầy", "choose": "Chọn quầy",
        "status_open": "Đang mở", "status_closed": "Đang đóng", "status_paused": "Tạm dừng",
        "serving": "Đang phục vụ", "none": "—", "next": "Gọi số tiếp", "recall": "Gọi lại",
        "skip": "Vắng mặt", "finish": "Xong", "pause": "Tạm dừng", "resume": "Làm việc lại",
        "open": "Mở quầy", "close": "Đóng quầy", "transfer": "Chuyển", "to_service": "Sang dịch vụ",
        "to_counter": "Sang quầy", "call": "Gọi số", "number": "Số thứ tự", "reason": "Lý do",
        "waiting": "Danh sách chờ", "waited": "Đã chờ", "service": "Dịch vụ", "priority": "Ưu tiên",
        "absent": "vắng mặt", "my_day": "Hôm nay của tôi", "served": "Đã phục vụ",
        "no_show": "Vắng mặt", "mean_service": "Phục vụ trung bình", "minutes": "phút",
        "nobody": "Không có ai đang chờ.", "shortcuts": "Phím tắt", "live_lost": "Mất kết nối, đang kết nối lại…",
        "other_lang": "English", "staff": "Cán bộ", "people_waiting": "người chờ",
        "typed": "Số đang gõ",
        "dossier": "Hồ sơ",
    },
    "en": {
        "title": "Clerk's console", "login": "Sign in", "user": "Login", "password": "Password",
        "logout": "Sign out", "counter": "Counter", "choose": "Choose a counter",
        "status_open": "Open", "status_closed": "Closed", "status_paused": "Paused",
        "serving": "Serving", "none": "—", "next": "Next", "recall": "Recall", "skip": "No-show",
        "finish": "Done", "pause": "Pause", "resume": "Resume", "open": "Open counter",
        "close": "Close counter", "transfer": "Transfer", "to_service": "To service",
        "to_counter": "To counter", "call": "Call number", "number": "Ticket number", "reason": "Reason",
        "waiting": "Waiting list", "waited": "Waited", "service": "Service", "priority": "Priority",
        "absent": "absent", "my_day": "My day", "served": "Served", "no_show": "No-shows",
        "mean_service": "Mean service", "minutes": "min", "nobody": "Nobody is waiting.",
        "dossier": "Dossier",
        "shortcuts": "Shortcuts", "live_lost": "Connection lost, reconnecting…", "other_lang": "Tiếng Việt",
        "staff": "Clerk", "people_waiting": "waiting", "typed": "Typed number",
    },
}

LOGIN_ERRORS = {
    "vi": {"bad": "Sai tên đăng nhập hoặc mật khẩu.", "locked": "Tài khoản tạm khóa do nhập sai nhiều lần. Thử lại sau {m} phút.",
           "rate": "Thử đăng nhập quá nhiều lần. Vui lòng chờ một phút.", "csrf": "Phiên làm việc đã hết hạn, vui lòng tải lại trang."},
    "en": {"bad": "Wrong login or password.", "locked": "Account locked after too many failures. Try again in {m} min.",
           "rate": "Too many sign-in attempts. Please wait a minute.", "csrf": "The page has expired, please reload it."},
}

ERRORS = {
    "vi": {"csrf": "Yêu cầu không hợp lệ (mã bảo vệ sai). Hãy tải lại trang.",
           "auth": "Bạn cần đăng nhập lại.", "forbidden": "Bạn không được làm việc tại {counter}.",
           "no_counter": "Không có quầy số {n}.", "bad": "Yêu cầu không hợp lệ: {detail}",
           "unavailable": "Hệ thống xếp hàng không trả lời, vui lòng thử lại.",
           "rate": "Thao tác quá nhanh, vui lòng thử lại sau ít giây."},
    "en": {"csrf": "Invalid request (bad protection token). Reload the page.",
           "auth": "Please sign in again.", "forbidden": "You may not work at {counter}.",
           "no_counter": "There is no counter {n}.", "bad": "Invalid request: {detail}",
           "unavailable": "The queue system does not answer, please try again.",
           "rate": "Too fast, please try again in a few seconds."},
}


#: English words for the engine's refusals (its own messages are Vietnamese, PROTOCOL.md).
REFUSALS_EN = {
    "counter_closed": "The counter is closed: open it first.", "not_serving": "Nobody is being served.",
    "not_found": "No such ticket is waiting today.", "unknown_service": "There is no such service.",
    "unknown_counter": "There is no such counter.", "service_closed": "That service is not taking tickets now.",
    "rate_limited": "Too fast, please try again in a few seconds.",
    "unavailable": "The queue system does not answer, please try again.",
    "internal": "The system had an error; please tell the technician.",
}


def refusal(lang: str, code: str | None, message: str) -> str:
    """The engine's refusal for the clerk: its Vietnamese sentence, or English words for the code."""
    if lang == "en" and code in REFUSALS_EN:
        return REFUSALS_EN[code]
    return message


def answer(lang: str, action: str, counter: str, reply: dict[str, Any], fields: dict[str, Any],
           target: str | None = None) -> str:
    """The sentence shown at once after a successful action."""
    ticket = reply.get("ticket") or {}
    n = ticket.get("number")
    vi = lang != "en"
    if action == "open":
        return f"Đã mở {counter}." if vi else f"{counter} is open."
    if action == "close":
        return f"Đã đóng {counter}." if vi else f"{counter} is closed."
    if action == "pause":
        why = fields.get("reason")
        return (f"{counter} tạm dừng" + (f": {why}." if why else ".")) if vi else \
            (f"{counter} paused" + (f": {why}." if why else "."))
    if action == "resume":
        return f"{counter} làm việc trở lại." if vi else f"{counter} is working again."
    if action in ("next", "call"):
        if not n:
            return "Không còn ai đang chờ." if vi else "Nobody is waiting."
        return f"Đã gọi số {n} đến {counter}." if vi else f"Called {n} to {counter}."
    if action == "recall":
        return f"Đã gọi lại số {n}." if vi else f"Called {n} again."
    if action == "skip":
        return f"Đã ghi số {n} vắng mặt." if vi else f"{n} marked absent."
    if action == "finish":
        return f"Đã xong số {n}." if vi else f"{n} is done."
    if action == "transfer":
        return f"Đã chuyển số {n} sang {target}." if vi else f"{n} transferred to {target}."
    return "Đã thực hiện." if vi else "Done."
