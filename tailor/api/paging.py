from __future__ import annotations

from fastapi import Request


def next_link(request: Request, skip: int, top: int) -> str:
    """The absolute URL of the page after this one, keeping every other query parameter."""
    return str(request.url.include_query_params(skip=skip + top, top=top))
