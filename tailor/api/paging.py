"""Paging query parameters (`skip`/`top` here, `skip`/`take` on the Custom Vision face) and the next page's link."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# The original services are .NET: a skip past Int32 is out of range there. Here it also keeps OFFSET well inside
# what SQLite (signed 64 bits) and PostgreSQL (bigint) take.
MAX_SKIP = 2**31 - 1


def bounded(low: int, high: int, description: str, **query: Any) -> tuple[Any, AfterValidator]:
    """The metadata of an integer query parameter from `low` to `high`: `Annotated[int, *bounded(...)]`.

    The range is in the OpenAPI schema, and a value outside it is a 400 naming the range (pydantic's own `ge`/`le`
    would name only the bound that was crossed)."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError(
                "out_of_range", "must be an integer from {low} to {high}", {"low": low, "high": high}
            )
        return value

    schema = {"minimum": low, "maximum": high}
    return Query(description=description, json_schema_extra=schema, **query), AfterValidator(check)


def next_link(request: Request, skip: int, top: int) -> str:
    """The absolute URL of the page after this one, keeping every other query parameter."""
    return str(request.url.include_query_params(skip=skip + top, top=top))
