"""Every text of the board for people, in both languages (``vbcore.lang``): the page picks one.

The board's script receives the texts of one language (``BOARD``), never both; what the API returns
for people (a status's name, a refusal's statement) comes from the same models as ``vb track``.
"""

from __future__ import annotations

from vbcore.lang import Lang, Text

BOARD: dict[str, Text] = {
    "title": Text("Bảng theo dõi liên thông văn bản", "Document interconnection board"),
    "search_label": Text("Tìm văn bản", "Find a document"),
    "search_placeholder": Text(
        "Ví dụ: công văn 1234 gửi Hà Nội hôm qua", "For example: công văn 1234 gửi Hà Nội hôm qua"
    ),
    "search_button": Text("Tìm", "Search"),
    "understood": Text("Đã hiểu:", "Understood:"),
    "kind_document_id": Text("mã văn bản", "DocumentId"),
    "kind_number": Text("số", "number"),
    "kind_type": Text("loại", "type"),
    "kind_sender": Text("cơ quan gửi", "sender"),
    "kind_recipient": Text("cơ quan nhận", "recipient"),
    "kind_party": Text("cơ quan gửi hoặc nhận", "sender or recipient"),
    "kind_since": Text("ngày", "date"),
    "kind_until": Text("đến ngày", "until"),
    "kind_words": Text("trích yếu có", "subject has"),
    "kind_unknown_agency": Text("không tìm thấy cơ quan", "no agency named"),
    "results": Text("{n} văn bản", "{n} documents"),
    "no_results": Text("Không có văn bản nào khớp.", "No document matches."),
    "col_received": Text("Trục nhận", "Received"),
    "col_document": Text("Văn bản", "Document"),
    "col_sender": Text("Cơ quan gửi", "Sender"),
    "col_subject": Text("Trích yếu", "Subject"),
    "col_recipients": Text("Cơ quan nhận", "Recipients"),
    "col_recipient": Text("Cơ quan nhận", "Recipient"),
    "col_deadline": Text("Hạn 01", "01 due by"),
    "col_late": Text("Quá hạn", "Late by"),
    "col_state": Text("Trạng thái", "State"),
    "col_reason": Text("Lý do", "Reason"),
    "col_when": Text("Thời điểm", "Time"),
    "col_from": Text("Từ", "From"),
    "col_description": Text("Mô tả", "Description"),
    "col_message": Text("Thông điệp", "Message"),
    "col_queue": Text("Hàng đợi", "Queue"),
    "col_messages": Text("Số thông điệp", "Messages"),
    "timeline": Text("Diễn biến với từng cơ quan nhận", "What happened with each recipient"),
    "close": Text("Đóng", "Close"),
    "accepted": Text("Trục nhận", "Hub received"),
    "forwarded": Text("Đã chuyển đến hộp thư", "Forwarded to the inbox"),
    "due": Text("Hạn 01", "01 due by"),
    "overdue": Text("Quá hạn 01", "01 overdue"),
    "late_hours": Text("trễ {h} giờ", "{h} h late"),
    "late_days": Text("trễ {d} ngày {h} giờ", "{d} d {h} h late"),
    "refused_by_hub": Text("Trục từ chối", "Refused by the hub"),
    "trace": Text("Vết của trục", "The hub's trace"),
    "actions": Text("Thao tác của người vận hành", "What operators did"),
    "overdue_title": Text("Quá hạn chưa có 01", "Overdue: no 01 yet"),
    "nothing_overdue": Text("Không có gì quá hạn.", "Nothing overdue."),
    "refusals_title": Text("Trục từ chối gần đây", "Recent refusals by the hub"),
    "no_refusals": Text("Không có gói tin nào bị từ chối.", "No package refused."),
    "parked_title": Text("Thông điệp bị giữ lại", "Parked messages"),
    "no_parked": Text("Không có thông điệp nào bị giữ lại.", "No parked message."),
    "replay": Text("Gửi lại", "Replay"),
    "drop": Text("Xóa", "Drop"),
    "confirm_replay": Text(
        "Gửi lại thông điệp {id} vào cửa vào của trục?", "Replay message {id} to the hub?"
    ),
    "confirm_drop": Text(
        "Xóa hẳn thông điệp {id}? Không thể hoàn tác.", "Drop message {id} for good? This cannot be undone."
    ),
    "done_replay": Text("Đã gửi lại {id}.", "Replayed {id}."),
    "done_drop": Text("Đã xóa {id}.", "Dropped {id}."),
    "not_found": Text("Không còn thông điệp {id} trong hàng đợi.", "Message {id} is no longer parked."),
    "not_replayable": Text("Không gửi lại được: {why}", "Cannot replay: {why}"),
    "no_sender": Text("(không rõ cơ quan gửi)", "(no verified sender)"),
    "charts_title": Text("Biểu đồ", "Charts"),
    "chart_hourly": Text(
        "Văn bản trục nhận theo giờ (48 giờ qua)", "Documents received per hour (last 48 hours)"
    ),
    "chart_first_receipt": Text(
        "Thời gian đến khi có 01, theo cơ quan nhận (7 ngày qua)",
        "Time to 01 per recipient agency (last 7 days)",
    ),
    "chart_refusals": Text("Từ chối theo lý do (7 ngày qua)", "Refusals by reason (last 7 days)"),
    "chart_queues": Text("Độ dài hàng đợi", "Queue depths"),
    "chart_empty": Text("Chưa có số liệu.", "No figures yet."),
    "minutes": Text("phút", "min"),
    "waiting": Text("chờ", "waiting"),
    "logout": Text("Đăng xuất", "Log out"),
    "switch_lang": Text("English", "Tiếng Việt"),
    "role_viewer": Text("xem", "viewer"),
    "role_operator": Text("vận hành", "operator"),
    "role_agency": Text("cơ quan", "agency"),
    "error": Text("Có lỗi: {why}", "Something went wrong: {why}"),
    "forbidden": Text("Tài khoản này không có quyền xem mục này.", "This account may not see this."),
    "session_ended": Text(
        "Phiên làm việc đã hết hạn, hãy đăng nhập lại.", "Your session ended; please log in again."
    ),
    "previous": Text("Trước", "Previous"),
    "next": Text("Sau", "Next"),
    "page": Text("Trang {n}/{of}", "Page {n} of {of}"),
    "tab_search": Text("Tìm kiếm", "Search"),
    "tab_overdue": Text("Quá hạn", "Overdue"),
    "tab_parked": Text("Bị giữ lại", "Parked"),
    "tab_charts": Text("Biểu đồ", "Charts"),
    "tab_refusals": Text("Từ chối", "Refusals"),
    "recent": Text("Văn bản gần đây", "Recent documents"),
}

LOGIN: dict[str, Text] = {
    "title": Text("Đăng nhập — vbus", "Log in — vbus"),
    "heading": Text("Bảng theo dõi liên thông văn bản", "Document interconnection board"),
    "username": Text("Tên đăng nhập", "Username"),
    "password": Text("Mật khẩu", "Password"),
    "submit": Text("Đăng nhập", "Log in"),
    "refused": Text(
        "Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đang bị khóa tạm thời.",
        "Wrong username or password, or the account is locked for a while.",
    ),
    "expired": Text("Phiên đăng nhập đã hết hạn, hãy thử lại.", "The login form expired; please try again."),
    "switch_lang": Text("English", "Tiếng Việt"),
}


def pick(texts: dict[str, Text], lang: Lang) -> dict[str, str]:
    return {key: text(lang) for key, text in texts.items()}
