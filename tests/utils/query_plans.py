"""Query plans of what a function runs: its statements are caught as it runs, then explained
(EXPLAIN QUERY PLAN on SQLite, EXPLAIN (FORMAT JSON) on PostgreSQL) with their parameters.

    statements(engine, call)    the SELECT statements (with parameters) that call() sent
    plan_lines(engine, sql, params)   one line per plan step: "SCAN draft", "SEARCH score USING
                                      INDEX ...", "USE TEMP B-TREE FOR ORDER BY"; PostgreSQL's
                                      nodes are written the same way ("SCAN draft" for a Seq Scan,
                                      "SORT" for a Sort of rows; an Incremental Sort, which reads
                                      an index in order and sorts only ties, is no problem)
    problems(lines, tables, sorting)  the steps that read a whole table of `tables`, or sort rows
                                      (when `sorting` is False)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from sqlalchemy import event
from sqlalchemy.engine import Engine

GROWING_TABLES = ("draft", "score", "auditevent", "reviewitem", "turn", "writingsession")
# PostgreSQL joins a period's drafts to their turns and sessions by hashing those whole when it
# estimates that cheaper than one lookup per draft (a cost choice that turns to lookups as the
# tables grow): on it, only the tables the queries filter are checked.
FILTERED_TABLES = ("draft", "score", "auditevent", "reviewitem")


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
        # A small test table is read whole and sorted faster than through an index: make both
        # the last resort, so the plan shows whether an index can serve the query in its order.
        cursor.execute("SET enable_seqscan = off; SET enable_sort = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        document = cursor.fetchone()[0]
        cursor.execute("RESET enable_seqscan; RESET enable_sort")
        return list(_pg_lines((json.loads(document) if isinstance(document, str) else document)[0]["Plan"]))


def _pg_lines(node: dict) -> Iterable[str]:
    kind, table = node["Node Type"], node.get("Relation Name", "")
    if kind == "Bitmap Index Scan":  # its table is named by the Bitmap Heap Scan above it
        table = node.get("Index Name", "").removeprefix("ix_").split("_")[0]
    if kind == "Seq Scan":
        yield f"SCAN {table}"
    elif kind == "Sort":
        yield f"SORT by {', '.join(node.get('Sort Key', []))}"
    elif kind == "Incremental Sort":  # rows read in index order, only the ties of its first keys sorted
        yield f"INCREMENTAL SORT by {', '.join(node.get('Sort Key', []))} (presorted: {', '.join(node.get('Presorted Key', []))})"
    elif "Index Name" in node and "Index Cond" not in node:  # the whole index walked, as SQLite's SCAN ... USING INDEX
        yield f"SCAN {table} USING INDEX {node['Index Name']}"
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
