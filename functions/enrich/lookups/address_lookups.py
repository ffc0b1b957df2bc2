"""Both APIs' answers for one address (Lookups), and what they make of it: the enrichment's
status and the winning relationship."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lookups.results import MinimoResult, SalesResult

EnrichmentStatus = Literal["enriched", "not_found", "partial", "no_email"]
# What an address's earlier delivery got from each API, None where it must be asked.
KnownAnswers = tuple[MinimoResult | None, SalesResult | None]


@dataclass(frozen=True, slots=True)
class Lookups:
    """Both APIs' answers for one address."""

    minimo: MinimoResult
    sales: SalesResult
    duration_ms: int
    # Which answers came from the warm-container cache rather than the API.
    minimo_cached: bool = False
    sales_cached: bool = False

    def answers(self) -> tuple[tuple[str, MinimoResult | SalesResult, bool], ...]:
        return (
            ("minimo", self.minimo, self.minimo_cached),
            ("sales", self.sales, self.sales_cached),
        )

    @property
    def failed(self) -> bool:
        return self.minimo.status == "error" or self.sales.status == "error"

    @property
    def found(self) -> bool:
        return self.minimo.status == "found" or self.sales.status == "found"


SKIPPED = Lookups(MinimoResult("skipped"), SalesResult("skipped"), duration_ms=0)


def enrichment_status(lookups: Lookups | None) -> EnrichmentStatus:
    if lookups is None:
        return "no_email"
    if lookups.failed:
        return "partial"
    return "enriched" if lookups.found else "not_found"


def winning_relationship(sales: SalesResult, precedence: tuple[str, ...]) -> str | None:
    """The relationship ranked first by `precedence` among matches that count; unknown ones last."""
    ranked = [m.relationship for m in sales.matches if m.counts and m.relationship]
    if not ranked:
        return None
    return min(ranked, key=lambda r: precedence.index(r) if r in precedence else len(precedence))
