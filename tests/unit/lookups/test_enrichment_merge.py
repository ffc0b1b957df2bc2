"""How two APIs' answers become one enrichment status, contact id and relationship."""

import pytest

from lookups.address_lookups import SKIPPED, Lookups, enrichment_status, winning_relationship
from lookups.results import LookupFailure, MinimoResult, SalesMatch, SalesResult

FOUND = MinimoResult("found", contact={"id": 42})
NOT_FOUND = MinimoResult("not_found")
FAILED = LookupFailure("timeout", "the API did not answer in time")


def match(relationship, status="active"):
    return SalesMatch("au_1", relationship, "acc_1", "Acme", status)


def sales(*relationships):
    return SalesResult("found" if relationships else "not_found", tuple(map(match, relationships)))


@pytest.mark.parametrize(
    ("minimo", "sales_result", "expected"),
    [
        (FOUND, sales("customer"), "enriched"),
        (FOUND, sales(), "enriched"),
        (NOT_FOUND, sales("supplier"), "enriched"),
        (NOT_FOUND, sales(), "not_found"),
        (MinimoResult("error", error=FAILED), sales("customer"), "partial"),
        (FOUND, SalesResult("error", error=FAILED), "partial"),
        (NOT_FOUND, SalesResult("error", error=FAILED), "partial"),
    ],
)
def test_status(minimo, sales_result, expected):
    assert enrichment_status(Lookups(minimo, sales_result, duration_ms=1)) == expected


def test_status_without_email():
    assert enrichment_status(None) == "no_email"
    assert SKIPPED.minimo.status == SKIPPED.sales.status == "skipped"


@pytest.mark.parametrize(
    ("relationships", "precedence", "expected"),
    [
        (("customer", "supplier", "self"), ("self", "customer", "supplier"), "self"),
        (("supplier", "customer"), ("self", "customer", "supplier"), "customer"),
        (("supplier", "customer"), ("supplier", "customer", "self"), "supplier"),
        (("supplier",), ("customer",), "supplier"),  # not ranked: still better than nothing
        ((), ("self", "customer", "supplier"), None),
    ],
)
def test_relationship_precedence(relationships, precedence, expected):
    assert winning_relationship(sales(*relationships), precedence) == expected


def test_removed_account_users_do_not_count():
    result = SalesResult("found", (match("self", "removed"), match("supplier", "active")))
    assert winning_relationship(result, ("self", "customer", "supplier")) == "supplier"
    only_removed = SalesResult("found", (match("customer", "removed"),))
    assert winning_relationship(only_removed, ("customer",)) is None


def test_contact_id_is_minimos_id():
    assert FOUND.contact_id == 42
    assert NOT_FOUND.contact_id is None
