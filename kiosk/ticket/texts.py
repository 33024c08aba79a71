"""Kiosk wording. Vietnamese is the first locale; English the second. Keys are stable codes."""
from __future__ import annotations

from edge.config.model import DEFAULT_PRIORITY_CATEGORIES
from printer.layout import wait_text

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "choose": "Mời chọn dịch vụ",
        "waiting": "Đang chờ: {n}",
        "closed": "Tạm ngưng nhận số",
        "closed_all": "Hiện ngoài giờ cấp số thứ tự",
        "full": "Đã hết số hôm nay",
        "hours_title": "Giờ cấp số thứ tự",
        "reopens": "Cấp số trở lại lúc {when}",
        "places": "Quầy phục vụ: {places}",
        "priority_title": "Quý khách thuộc đối tượng ưu tiên?",
        "priority_none": "Không ưu tiên",
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
        "quota_reached": "Dịch vụ {service} đã hết số thứ tự trong ngày hôm nay. "
                         "Xin hỏi cán bộ tại quầy hướng dẫn.",
        "quota_next": "Dịch vụ {service} đã hết số thứ tự hôm nay. Mời quý khách quay lại lấy số từ "
                      "{when}, hoặc hỏi cán bộ hướng dẫn về nộp hồ sơ trực tuyến.",
        "service_closed": "Dịch vụ {service} đang tạm ngừng cấp số. Xin hỏi cán bộ tại quầy hướng dẫn.",
        "service_closed_next": "Dịch vụ {service} hiện ngoài giờ cấp số thứ tự. Mời quý khách quay lại "
                               "lấy số lúc {when}.",
        "unknown_service": "Dịch vụ này không có tại bộ phận một cửa.",
        "error": "Chưa lấy được số: {message}",
        "notice_title": "Xin lỗi quý khách",
        "ok": "Đã hiểu",
        "printer_banner": "Tạm ngưng lấy số: {reason}",
        "scan_hint": "Đã có giấy hẹn trả kết quả? Đưa mã vạch hoặc mã QR vào máy quét",
        "looking": "Đang tra cứu hồ sơ {code}, xin chờ trong giây lát…",
        "bad_scan": "Mã vừa quét không phải mã hồ sơ. {detail}",
        "receipt_not_found": "Không tìm thấy hồ sơ có mã {code}. Xin kiểm tra lại giấy hẹn hoặc chọn dịch vụ để lấy số.",
        "receipt_unavailable": "Chưa tra cứu được hồ sơ {code}: hệ thống đang gián đoạn. Xin chọn dịch vụ để lấy số.",
        "receipt_title": "Hồ sơ {code}",
        "receipt_ready": "Hồ sơ đã có kết quả. Mời quý khách lấy số để nhận kết quả.",
        "receipt_missing": "Hồ sơ cần bổ sung giấy tờ. Mời quý khách lấy số để nộp giấy tờ bổ sung.",
        "receipt_other": "Tình trạng: {status}. Quý khách chưa cần lấy số; nếu cần hỏi thêm, mời lấy số gặp cán bộ.",
        "receipt_due": "Ngày hẹn trả kết quả: {due}",
        "take_return": "Lấy số Nhận kết quả",
        "take_supplement": "Lấy số Bổ sung hồ sơ",
        "take_ask": "Lấy số gặp cán bộ",
        "dossier_line": "Hồ sơ: {code}",
        "greet": "Kính chào {title}! Mời {title} chọn dịch vụ.",
        "greet_elderly": "Kính chào {title}! {Title} được ưu tiên: {category}. Mời {title} chọn dịch vụ; "
                         "xin xuất trình căn cước cho cán bộ khi được gọi.",
        "person_limit": "{message} Xin hỏi cán bộ tại quầy hướng dẫn.",
        "booking": "Đã đặt lịch hẹn",
        "booking_sub": "Quét mã QR hoặc nhập mã lịch hẹn",
        "booking_title": "Nhập mã lịch hẹn (hoặc đưa mã QR của lịch hẹn vào máy quét)",
        "booking_ok": "Lấy số",
        "booking_short": "Mã lịch hẹn quá ngắn. Xin kiểm tra lại.",
        "redeeming": "Đang kiểm tra lịch hẹn, xin chờ trong giây lát…",
        "booking_refused": "{message} Xin chọn dịch vụ để lấy số hoặc hỏi cán bộ hướng dẫn.",
        "booking_unavailable": "Chưa kiểm tra được lịch hẹn: hệ thống đang gián đoạn. Xin chọn dịch vụ để lấy số.",
        "slot_line": "Giờ hẹn: {hm}. Quý khách được gọi đúng giờ hẹn.",
        "walk_in": "Quý khách đến muộn hơn giờ hẹn ({hm}): số này được gọi theo thứ tự như khách không đặt lịch.",
    },
    "en": {
        "choose": "Please choose a service",
        "waiting": "Waiting: {n}",
        "closed": "Not issuing now",
        "closed_all": "Not issuing numbers now",
        "full": "No more numbers today",
        "hours_title": "Ticket hours",
        "reopens": "Numbers again at {when}",
        "places": "Served at: {places}",
        "priority_title": "Do you have priority?",
        "priority_none": "No priority",
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
        "quota_reached": "No more numbers today for {service}. Please ask at the information desk.",
        "quota_next": "No more numbers today for {service}. Please come back from {when}, "
                      "or ask staff about applying online.",
        "service_closed": "{service} is not issuing numbers for now. Please ask at the information desk.",
        "service_closed_next": "{service} is outside its ticket hours. Please come back at {when}.",
        "unknown_service": "This service is not offered here.",
        "error": "No number issued: {message}",
        "notice_title": "Sorry",
        "ok": "OK",
        "printer_banner": "Not issuing: {reason}",
        "scan_hint": "Have a receipt? Hold its barcode or QR code under the reader",
        "looking": "Looking up dossier {code}, please wait…",
        "bad_scan": "That is not a dossier code. {detail}",
        "receipt_not_found": "No dossier has the code {code}. Please check your receipt or choose a service.",
        "receipt_unavailable": "Dossier {code} cannot be looked up now. Please choose a service to get a number.",
        "receipt_title": "Dossier {code}",
        "receipt_ready": "Your result is ready. Take a number to collect it.",
        "receipt_missing": "Documents are missing. Take a number to hand them in.",
        "receipt_other": "Status: {status}. You need no number now; to ask a clerk, take one.",
        "receipt_due": "Results due: {due}",
        "take_return": "Number to collect the result",
        "take_supplement": "Number to hand in documents",
        "take_ask": "Number to ask a clerk",
        "dossier_line": "Dossier: {code}",
        "greet": "Welcome! Please choose a service.",
        "greet_elderly": "Welcome! You have priority: {category}. Please choose a service and show your ID "
                         "card to the clerk when called.",
        "person_limit": "You have taken the most numbers allowed per person today. Please ask a clerk.",
        "booking": "I have an appointment",
        "booking_sub": "Scan its QR code or type its code",
        "booking_title": "Type your booking code (or hold its QR code under the reader)",
        "booking_ok": "Get number",
        "booking_short": "That booking code is too short. Please check it.",
        "redeeming": "Checking your booking, please wait…",
        "booking_refused": "{message} Please choose a service or ask a clerk.",
        "booking_unavailable": "Your booking cannot be checked now. Please choose a service.",
        "slot_line": "Appointment at {hm}: you will be called at that time.",
        "walk_in": "You are later than your appointment ({hm}): this number is called in the ordinary order.",
    },
}

#: (wire value, Vietnamese, English) when the kiosk is built without the office's categories
DEFAULT_CATEGORIES = tuple((c.priority, c.name, c.name_en) for c in DEFAULT_PRIORITY_CATEGORIES)


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
