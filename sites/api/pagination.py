"""Pages of a list: ?limit= and ?offset=, refused with a 400 when they are not what the schema says.

DRF's LimitOffsetPagination quietly uses its default for "limit=abc"; a script
that sent it would then page wrongly without knowing. Here it is told.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import LimitOffsetPagination

from .errors import ApiError

MAX_LIMIT = 100
# Past any list this console holds, and inside a 32-bit SQL OFFSET.
MAX_OFFSET = 1_000_000_000


def whole_number(request, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """The query parameter `name` as a whole number in range, `default` when absent, or a 400 saying what it takes."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    within = f"from {minimum} to {maximum}" if maximum is not None else f"from {minimum}"
    if not raw.isascii() or not raw.isdigit() or (maximum is not None and int(raw) > maximum) or int(raw) < minimum:
        raise ApiError(f"{name} is a whole number {within}.", code="validation_failed", fields={name: [f"A whole number {within}."]})
    return int(raw)


def limit_parameter(description: str = "How many in this page (the default is also the most).") -> OpenApiParameter:
    return OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, description=description)


PAGE_PARAMETERS = [
    limit_parameter(),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}, description="How many to skip."),
]


class Pages(LimitOffsetPagination):
    default_limit = MAX_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request):
        return whole_number(request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=self.max_limit)

    def get_offset(self, request):
        return whole_number(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET)
