"""Item paths: a tuple of names (or "a/b") to the URL paths Jenkins and Blue Ocean use.

Jenkins item names never contain "/", so "7/build-app" and ("7", "build-app") are the same
item. Every name is percent-encoded with nothing left safe, so a name cannot climb out of
its folder or smuggle a query string; "." and ".." are refused outright.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

ItemPath = str | Sequence[str]


def names(path: ItemPath) -> tuple[str, ...]:
    """The item's names from the root down; empty for the root itself."""
    parts = tuple(path.strip("/").split("/")) if isinstance(path, str) else tuple(path)
    if parts == ("",):
        return ()
    for name in parts:
        if not name or name in (".", ".."):
            raise ValueError(f"invalid Jenkins item name {name!r} in {parts!r}")
    return parts


def segment(name: str) -> str:
    """One URL path segment, with every reserved character encoded."""
    return quote(name, safe="")


def job_url(path: ItemPath) -> str:
    """`job/a/job/b/` for ("a", "b"); "" for the root."""
    return "".join(f"job/{segment(name)}/" for name in names(path))


def run_url(path: ItemPath, number: int) -> str:
    """`job/a/job/b/N/`."""
    return f"{job_url(path)}{int(number)}/"


def parent_and_name(path: ItemPath) -> tuple[tuple[str, ...], str]:
    """The parent folder's names and the item's own name."""
    parts = names(path)
    if not parts:
        raise ValueError("the Jenkins root has no parent")
    return parts[:-1], parts[-1]


def blue_run_url(path: ItemPath, number: int) -> str:
    """Blue Ocean's `.../pipelines/a/pipelines/b/runs/N/`."""
    pipelines = "".join(f"pipelines/{segment(name)}/" for name in names(path))
    return f"blue/rest/organizations/jenkins/{pipelines}runs/{int(number)}/"
