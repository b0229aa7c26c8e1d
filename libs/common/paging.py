"""The API's paging convention: `page` from 1 and `pageSize` in, `pagination` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from libs.common.errors import InvalidArgument

Item = TypeVar("Item")

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    page: int
    page_size: int
    total: int
    pages: int


def window(page: int, page_size: int) -> tuple[int, int]:
    """The (page, page size) to serve: page 1 by default; size 0 means every item."""
    if page < 0:
        raise InvalidArgument(f"page: must be 1 or more, got {page}")
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument(f"pageSize: must be between 0 and {MAX_PAGE_SIZE}, got {page_size}")
    return max(page, 1), page_size


def describe(page: int, page_size: int, total: int) -> Page:
    size = page_size or total
    pages = (total + size - 1) // size if size else 0
    return Page(page=page, page_size=size, total=total, pages=pages)


def paginate(items: Sequence[Item], page: int, page_size: int) -> tuple[list[Item], Page]:
    """One page of an in-memory list, and its description."""
    page, page_size = window(page, page_size)
    total = len(items)
    if page_size == 0:
        return list(items), describe(page, page_size, total)
    start = (page - 1) * page_size
    return list(items[start : start + page_size]), describe(page, page_size, total)
