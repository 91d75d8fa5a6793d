"""Query plans of what a function runs: its statements are caught as it runs, then explained
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN (FORMAT JSON) on PostgreSQL) with their parameters.

    statements(engine, call)    the SELECT statements (with parameters) that call() sent
    plan_lines(engine, sql, params)   one line per plan step: "SCAN draft", "SEARCH score USING
                                      INDEX ...", "USE TEMP B-TREE FOR ORDER BY"; PostgreSQL's
                                      nodes are written the same way ("SCAN draft" for a Seq Scan,
                                      "SORT" for a Sort of rows)
    problems(lines, tables, sorting)  the steps that read a whole table of `tables`, or sort rows
                                      (when `sorting` is False)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.engine import Engine

GROWING_TABLES = ("draft", "score", "auditevent", "reviewitem", "turn", "writingsession")


def statements(engine: Engine, call: Callable[[], object]) -> list[tuple[str, object]]:
    caught: list[tuple[str, object]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            caught.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", catch)
    return caught


def plan_lines(engine: Engine, statement: str, parameters: object) -> list[str]:
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return [row[3] for row in cursor.fetchall()]
        cursor.execute("SET enable_seqscan = off")  # a small test table: ask which plan the indexes allow
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        document = cursor.fetchone()[0]
        cursor.execute("RESET enable_seqscan")
        return list(_pg_lines((json.loads(document) if isinstance(document, str) else document)[0]["Plan"]))


def _pg_lines(node: dict) -> Iterable[str]:
    kind, table = node["Node Type"], node.get("Relation Name", "")
    if kind == "Seq Scan":
        yield f"SCAN {table}"
    elif kind in ("Sort", "Incremental Sort"):
        yield f"SORT {kind} by {', '.join(node.get('Sort Key', []))}"
    else:
        yield f"{kind.upper()} {table} {node.get('Index Name', '')}".strip()
    for child in node.get("Plans", []):
        yield from _pg_lines(child)


def problems(lines: Iterable[str], *, tables: Iterable[str] = GROWING_TABLES, sorting: bool = False) -> list[str]:
    """Steps that read a whole growing table, or (unless `sorting`) sort rows instead of reading an index in order."""
    found = []
    for line in lines:
        words = line.split()
        if words[:1] == ["SCAN"] and len(words) > 1 and words[1] in tables:
            found.append(line)
        if not sorting and (line.startswith("USE TEMP B-TREE FOR ORDER BY") or line.startswith("SORT")):
            found.append(line)
    return found
