"""`cosmos.base.query.v1beta1` pagination over a range of store keys, as the SDK pages.

A page is chosen by `key` (continue from a previous page's `next_key`) or by `offset`, never
both. `limit` 0 means the default (100) and then the total is counted, as the SDK does;
limits above 1000 are capped. `next_key` is the key of the first item after the page (empty
on the last page), relative to the iterated prefix, so clients can pass it back unchanged.
`reverse` walks from the end; with a `key` it continues downwards from that key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sultan.kernel.errors import QueryError
from sultan.kernel.store.branch import KVReader, prefix_end
from sultan.pb.cosmos.base.query.v1beta1 import pagination_pb2

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def page_limit(request: Any | None) -> tuple[int, bool]:
    """(limit, count_total) for a PageRequest (None or unset fields allowed)."""
    if request is None:
        return DEFAULT_LIMIT, True
    limit = int(request.limit)
    count_total = bool(request.count_total)
    if limit == 0:
        limit, count_total = DEFAULT_LIMIT, True
    return min(limit, MAX_LIMIT), count_total


def paginate(
    kv: KVReader,
    prefix: bytes,
    request: Any | None,
    decode: Callable[[bytes, bytes], T],
) -> tuple[list[T], Any]:
    """One page of the items under `prefix` in `kv`; returns (items, PageResponse).

    `decode(key_suffix, value)` turns a raw entry into a result item; `key_suffix` is the
    key with `prefix` removed (what `next_key` holds).
    """
    if request is not None and request.key and request.offset:
        raise QueryError("InvalidArgument", "either offset or key is expected, got both")
    limit, count_total = page_limit(request)
    reverse = bool(request.reverse) if request is not None else False
    key = bytes(request.key) if request is not None else b""
    offset = int(request.offset) if request is not None else 0
    end = prefix_end(prefix)
    cut = len(prefix)

    if key:
        if reverse:
            entries = kv.iterate(prefix, prefix_end(prefix + key), reverse=True)
        else:
            entries = kv.iterate(prefix + key, end)
        items: list[T] = []
        next_key = b""
        for raw_key, value in entries:
            if len(items) == limit:
                next_key = raw_key[cut:]
                break
            items.append(decode(raw_key[cut:], value))
        return items, pagination_pb2.PageResponse(next_key=next_key)

    items = []
    next_key = b""
    total = 0
    for raw_key, value in kv.iterate(prefix, end, reverse=reverse):
        total += 1
        if total <= offset:
            continue
        if len(items) < limit:
            items.append(decode(raw_key[cut:], value))
            continue
        if not next_key:
            next_key = raw_key[cut:]
        if not count_total:
            break
    response = pagination_pb2.PageResponse(next_key=next_key)
    if count_total:
        response.total = total
    return items, response
