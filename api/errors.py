"""Error pages: what went wrong and what to do, in Vietnamese, styled like the other pages
(the API answers JSON in the one shape of api/guard.py)."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import Response

from api import i18n
from api.deps import TEMPLATES, current_user
from api.guard import MESSAGES

ADVICE = {
    400: "Hãy kiểm tra lại các ô đã nhập rồi gửi lại.",
    403: "Nếu công việc cần quyền này, hãy nhờ quản trị viên cấp quyền cho tài khoản của bạn.",
    404: "Hãy kiểm tra lại địa chỉ hoặc mã đã gõ, hoặc tìm lại từ trang Tìm kiếm.",
    405: "Hãy dùng các nút và biểu mẫu trên trang thay vì gõ địa chỉ trực tiếp.",
    409: "Hãy quay lại danh sách và chọn bản khác.",
    413: "Hãy gửi tệp nhỏ hơn, hoặc chia thành nhiều lần tải lên.",
    415: "Hãy gửi lại bằng biểu mẫu trên trang.",
    422: "Hãy kiểm tra lại các ô đã nhập rồi gửi lại.",
    429: "Hãy đợi một lúc rồi thử lại.",
    500: "Hãy thử lại sau ít phút. Nếu vẫn lỗi, hãy báo quản trị viên kèm thời điểm xảy ra lỗi.",
    503: "Hãy thử lại sau ít phút. Nếu vẫn lỗi, hãy báo quản trị viên.",
}



def error_page(request: Request, status: int, message: str | None,
               headers: dict | None = None) -> Response:
    """A page (styled like the rest) saying what went wrong and what to do."""
    try:
        user = current_user(request)
    except Exception:  # noqa: BLE001 - an error page never fails for want of a session
        user = None
    advice = ADVICE.get(status, ADVICE[500] if status >= 500 else ADVICE[400])
    retry = (headers or {}).get("Retry-After")
    if status == 429 and retry and str(retry).isdigit():
        at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(retry))
        advice = f"Hãy thử lại lúc {i18n.clock(at)}."
    if status >= 500:
        advice += f" (Lúc {i18n.clock(dt.datetime.now(dt.UTC))}, mã lỗi {status}.)"
    return TEMPLATES.TemplateResponse(request, "error.html", {
        "user": user, "status": status, "message": message or MESSAGES.get(
            status, MESSAGES[400] if status < 500 else MESSAGES[500]), "advice": advice},
        status_code=status, headers=headers)
