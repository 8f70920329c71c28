"""Changes between runs that every static-list sample portal makes the same way: an article
withdrawn (off every list, its page 404), restored, or pinned to the top without a flag."""

from __future__ import annotations

from typing import Any


class ListChanges:
    """Mixed into a sample portal with ``articles`` (id → article with ``id``, ``published``,
    ``channels``, ``gone``), ``columns`` (each with ``code`` and ``records``, newest first),
    ``pinned`` (ids kept on top) and ``column(code)``."""

    articles: dict[str, Any]
    columns: list[Any]
    pinned: set[str]

    def column(self, code: str) -> Any:
        raise NotImplementedError

    def withdraw(self, article_id: str) -> Any:
        """Off every list; its page answers 404."""
        a = self.articles[article_id]
        self._off_lists(a)
        a.gone = True
        return a

    def restore(self, article_id: str) -> Any:
        """A withdrawn article back, in its place by date in its channels' lists."""
        a = self.articles[article_id]
        a.gone = False
        for code in a.channels:
            self._insert_by_date(self.column(code), a)
        return a

    def pin(self, article_id: str) -> Any:
        """An old entry pinned (置顶) to the top of its lists: no flag, only its place."""
        a = self.articles[article_id]
        self.pinned.add(a.id)
        self._to_top(a)
        return a

    def _off_lists(self, a: Any) -> None:
        for column in self.columns:
            if a in column.records:
                column.records.remove(a)

    def _to_top(self, a: Any) -> None:
        for column in self.columns:
            if a in column.records:
                column.records.remove(a)
                column.records.insert(0, a)

    def _insert_by_date(self, column: Any, a: Any) -> None:
        """In its place by date, below the pinned entries."""
        if a in column.records:
            return
        at = next(
            (
                i
                for i, r in enumerate(column.records)
                if r.id not in self.pinned and r.published < a.published
            ),
            len(column.records),
        )
        column.records.insert(at, a)
