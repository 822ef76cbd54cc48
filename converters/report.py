"""What a reader or writer could not carry, or did on its own, counted and said once per kind."""
from __future__ import annotations

from collections import Counter

from .errors import UserError


class Report:
    """Counts notes by template; each template holds `{n}` for the count.

    Example: report.add("{n} box-only annotations: a box is not four extreme points, so they have none")

    `lose` records something the target format cannot hold ("dropped {n} polylines: VOC has no
    polylines"). With `strict`, the first loss is an error instead, raised before anything is written
    whole (outputs are atomic), so the user's files stay as they were.
    """

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self._counts: Counter[str] = Counter()

    def add(self, template: str, n: int = 1) -> None:
        if n:
            self._counts[template] += n

    def lose(self, template: str, n: int = 1) -> None:
        if n and self.strict:
            raise UserError(template.format(n=n) + " (refused by --strict)")
        self.add(template, n)

    def count(self, template: str) -> int:
        return self._counts[template]

    def lines(self) -> list[str]:
        return [template.format(n=n) for template, n in self._counts.items()]
