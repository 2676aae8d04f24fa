"""JSON: {"meta": {...}, "columns": [...], "rows": [{...}, ...], "row_count": n}, written row by row (the closing
count comes last because the rows are counted as they pass). Times are written in the report's zone with their offset;
strings are left as they are (no spreadsheet reads this file)."""

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from core.typed_schema import Column

from .common import ReportMeta, json_default

# Rows are joined into chunks of about this many bytes before being handed on.
CHUNK_SIZE = 64 * 1024


def json_chunks(rows: Iterable[Mapping[str, Any]], *, columns: list[Column], meta: ReportMeta) -> Iterator[bytes]:
    head = {"meta": meta.as_dict(), "columns": [column.as_dict() for column in columns]}
    # The head as an object without its closing brace, so the rows can follow.
    yield orjson.dumps(head, default=json_default)[:-1] + b',"rows":['
    names = [column.name for column in columns]
    times = {column.name for column in columns if column.type == "date-time"}
    chunk: list[bytes] = []
    size = 0
    count = 0
    for row in rows:
        values = {name: row.get(name) for name in names}
        for name in times:
            moment = values[name]
            if isinstance(moment, datetime):
                values[name] = meta.local(moment)
        encoded = orjson.dumps(values, default=json_default, option=orjson.OPT_NON_STR_KEYS)
        chunk.append(encoded if count == 0 else b"," + encoded)
        count += 1
        size += len(encoded) + 1
        if size >= CHUNK_SIZE:
            yield b"".join(chunk)
            chunk.clear()
            size = 0
    chunk.append(b'],"row_count":' + str(count).encode() + b"}")
    yield b"".join(chunk)
