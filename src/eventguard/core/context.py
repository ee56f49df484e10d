"""Per-request (or per-command) context that services read: the request id for the audit trail."""

import contextvars
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    rid = request_id_var.get()
    if not rid:
        rid = f"cli-{uuid.uuid4().hex[:16]}"
        request_id_var.set(rid)
    return rid


def new_request_id(prefix: str = "") -> str:
    rid = f"{prefix}{uuid.uuid4().hex}"
    request_id_var.set(rid)
    return rid
