"""The find-by-email list as OpenMRP's gateway returns it: each contact match with the parts
`include` asks for, and the opt-in pagination fault's pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from local.stand_ins.sales_requests import PATH


def contact_match(contact: dict[str, Any], include: frozenset[str], created: str) -> dict:
    stamps = {"created_at": created, "updated_at": created}
    account_user = None
    if any(i.startswith("account_user") for i in include):
        role = {"object": "role", "owner": None, "permissions": [], **contact["role"], **stamps}
        user = {
            "object": "user",
            "email_verified_at": None,
            "image_url": None,
            "last_used_at": None,
            **contact["user"],
            **stamps,
        }
        account_user = {
            "id": contact["id"],
            "object": "account_user",
            "status": contact["account_user_status"],
            "role": role if "account_user.role" in include else None,
            "department": None,
            "user": user if "account_user.user" in include else None,
            **stamps,
        }
    account = None
    # OpenMRP expands `account` only for your own account today (BatchGetAccountsByIDs
    # filters to the caller's account; its e2e tests record it).
    if "account" in include and contact["relationship"] == "self":
        account = {
            **contact["account"],
            "object": "account",
            "default_billing_address": None,
            "default_shipping_address": None,
            "branding": None,
            "portal": None,
            **stamps,
        }
    return {
        "id": contact["id"],
        "object": "contact_match",
        "relationship": contact["relationship"],
        "email": contact["email"],
        "account_user": account_user,
        "account": account,
    }


def paged(
    matches: list[dict[str, Any]], query: list[tuple[str, str]], size: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The opt-in pagination fault: relative page links that carry the query along."""
    cursor = next((v for k, v in query if k == "cursor"), "0")
    start = int(cursor) if cursor.isdigit() else 0
    rest = [(k, v) for k, v in query if k != "cursor"]

    def link(offset: int) -> str:
        return f"{PATH}?{urlencode([*rest, ('cursor', str(offset))])}"

    end = start + size
    return matches[start:end], {
        "next_page_url": link(end) if end < len(matches) else None,
        "previous_page_url": link(max(0, start - size)) if start else None,
        "has_next_page": end < len(matches),
        "has_prev_page": start > 0,
    }
