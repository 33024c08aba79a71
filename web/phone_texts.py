"""Words of the citizen's ticket page (phone), Vietnamese first and English second."""
from __future__ import annotations

PHONE: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Theo dõi lượt gọi", "number": "Số thứ tự của bạn", "ahead": "Số người chờ trước bạn",
        "wait": "Thời gian chờ dự kiến", "about_min": "khoảng {m} phút", "about_h": "khoảng {h} giờ {m} phút",
        "soon": "sắp đến lượt", "no_counter": "chưa có quầy mở", "called": "Mời đến {counter}",
        "called_again": "Mời đến {counter} (gọi lại)",
        "done": "Đã phục vụ xong. Cảm ơn bạn!", "no_show": "Bạn đã không có mặt khi được gọi. "
        "Vui lòng đến quầy hoặc hỏi cán bộ hướng dẫn để được gọi lại.",
        "cancelled": "Vé này đã bị hủy.", "transferred": "Bạn đã được chuyển sang: {service}. Vẫn giữ số cũ.",
        "waiting": "Đang chờ", "priority": "Vé ưu tiên",
        "sound": "Bật chuông báo", "sound_on": "Chuông báo đã bật",
        "live_lost": "Mất kết nối, đang kết nối lại…", "updated": "Cập nhật lúc {t}",
        "keep_open": "Giữ trang này mở: khi đến lượt, điện thoại sẽ đổ chuông và rung (nếu máy cho phép).",
        "unknown_title": "Không tìm thấy vé",
        "unknown": "Không tìm thấy lượt nào với mã này. Mã có thể bị sai, hoặc vé đã hết hạn "
        "(vé chỉ dùng trong ngày được cấp). Vui lòng quét lại mã QR trên vé hoặc hỏi cán bộ hướng dẫn.",
        "other_lang": "English",
    },
    "en": {
        "title": "Track your turn", "number": "Your number", "ahead": "People ahead of you",
        "wait": "Estimated wait", "about_min": "about {m} min", "about_h": "about {h} h {m} min",
        "soon": "almost your turn", "no_counter": "no counter open yet", "called": "Please go to {counter}",
        "called_again": "Please go to {counter} (called again)",
        "done": "Served. Thank you!", "no_show": "You were not there when called. "
        "Please go to the counter or ask the usher to be called again.",
        "cancelled": "This ticket was cancelled.", "transferred": "Moved to: {service}. Same number.",
        "waiting": "Waiting", "priority": "Priority ticket",
        "sound": "Turn on the alert sound", "sound_on": "Alert sound on",
        "live_lost": "Connection lost, reconnecting…", "updated": "Updated at {t}",
        "keep_open": "Keep this page open: when it is your turn the phone rings and vibrates (if it allows).",
        "unknown_title": "Ticket not found",
        "unknown": "No ticket has this code. The code may be wrong, or the ticket has expired "
        "(a ticket is valid on the day it was issued). Scan the QR on the ticket again or ask the usher.",
        "other_lang": "Tiếng Việt",
    },
}
