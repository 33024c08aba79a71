"""Kiosk wording. Vietnamese is the first locale; English the second. Keys are stable codes."""
from __future__ import annotations

from printer.layout import wait_text

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "choose": "Mời chọn dịch vụ",
        "waiting": "Đang chờ: {n}",
        "closed": "Tạm ngưng nhận số",
        "priority_title": "Quý khách thuộc đối tượng ưu tiên?",
        "priority_none": "Không ưu tiên",
        "prio_elderly": "Người cao tuổi",
        "prio_disabled": "Người khuyết tật",
        "prio_pregnant": "Phụ nữ mang thai",
        "prio_child": "Người đi cùng trẻ nhỏ",
        "back": "Quay lại",
        "issuing": "Đang lấy số, xin chờ trong giây lát…",
        "your_number": "Số thứ tự của quý khách",
        "ahead": "Số người chờ trước: {n}",
        "eta": "Thời gian chờ dự kiến: {t}",
        "printing": "Đang in phiếu…",
        "printed": "Mời quý khách nhận phiếu bên dưới",
        "print_failed": "Máy in chưa in được phiếu. Xin ghi nhớ số {number}; phiếu sẽ được in lại "
                        "ngay khi máy in hoạt động trở lại, số của quý khách vẫn được gọi.",
        "no_printer": "Xin quý khách ghi nhớ số {number} và chờ được gọi.",
        "done": "Xong",
        "lang": "English",
        "paper_out": "Máy in đã hết giấy. Xin vui lòng báo cán bộ tại quầy hướng dẫn.",
        "offline": "Máy in đang mất kết nối. Tạm thời chưa thể lấy số, xin báo cán bộ.",
        "cover_open": "Nắp máy in đang mở. Tạm thời chưa thể lấy số, xin báo cán bộ.",
        "engine_down": "Hệ thống lấy số đang tạm gián đoạn. Xin vui lòng thử lại sau ít phút.",
        "quota_reached": "Dịch vụ {service} đã hết số thứ tự trong ngày hôm nay.",
        "service_closed": "Dịch vụ {service} hiện không nhận lấy số (ngoài giờ hoặc tạm ngưng).",
        "unknown_service": "Dịch vụ này không có tại bộ phận một cửa.",
        "error": "Chưa lấy được số: {message}",
        "notice_title": "Xin lỗi quý khách",
        "ok": "Đã hiểu",
        "printer_banner": "Tạm ngưng lấy số: {reason}",
    },
    "en": {
        "choose": "Please choose a service",
        "waiting": "Waiting: {n}",
        "closed": "Not issuing now",
        "priority_title": "Do you have priority?",
        "priority_none": "No priority",
        "prio_elderly": "Elderly",
        "prio_disabled": "Disability",
        "prio_pregnant": "Pregnant",
        "prio_child": "With a small child",
        "back": "Back",
        "issuing": "Getting your number, please wait…",
        "your_number": "Your number",
        "ahead": "People ahead of you: {n}",
        "eta": "Estimated wait: {t}",
        "printing": "Printing your ticket…",
        "printed": "Please take your ticket below",
        "print_failed": "The printer could not print. Please remember number {number}; the ticket "
                        "will print when the printer is back and your number will still be called.",
        "no_printer": "Please remember number {number} and wait to be called.",
        "done": "Done",
        "lang": "Tiếng Việt",
        "paper_out": "The printer is out of paper. Please tell a staff member.",
        "offline": "The printer is offline. Tickets cannot be issued now; please tell a staff member.",
        "cover_open": "The printer cover is open. Please tell a staff member.",
        "engine_down": "The queue system is unavailable. Please try again in a few minutes.",
        "quota_reached": "No more numbers today for {service}.",
        "service_closed": "{service} is not issuing numbers now.",
        "unknown_service": "This service is not offered here.",
        "error": "No number issued: {message}",
        "notice_title": "Sorry",
        "ok": "OK",
        "printer_banner": "Not issuing: {reason}",
    },
}

PRIORITY_KEYS = ("elderly", "disabled", "pregnant", "child")


def tr(lang: str, key: str, **kw: object) -> str:
    """Text for ``key`` in ``lang`` (falls back to Vietnamese), formatted with ``kw``."""
    table = TEXTS.get(lang, TEXTS["vi"])
    return table.get(key, TEXTS["vi"][key]).format(**kw)


def minutes_text(lang: str, seconds: int | None) -> str | None:
    if seconds is None:
        return None
    if lang == "en":
        return f"about {max(1, -(-seconds // 60))} min"
    return wait_text(seconds)
