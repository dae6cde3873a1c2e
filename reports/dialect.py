"""Athena SQL constructs that sqlglot translates to DuckDB with a different meaning (DESIGN.md).

``check`` returns the problems in one query; every report must have none (tests). Rules:
- ``date_diff``: counts boundaries crossed in DuckDB, whole units in Trino. Use to_unixtime arithmetic.
- ``/``: integer division in Trino, real division in DuckDB. One side must be CAST to DOUBLE
  (or be a decimal literal), so both engines divide the same way.
- ``format_datetime``, ``to_iso8601``, ``date_format`` with Joda/MySQL patterns: no faithful translation.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

UNTRANSLATABLE = ("format_datetime", "to_iso8601", "date_format", "date_parse", "parse_datetime")


def _is_real(node: exp.Expression) -> bool:
    if isinstance(node, exp.Cast):
        return node.to.this in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL)
    if isinstance(node, exp.Literal) and not node.is_string:
        return "." in node.this
    if isinstance(node, exp.Paren):
        return _is_real(node.this)
    if isinstance(node, (exp.Mul, exp.Add, exp.Sub, exp.Div)):
        return _is_real(node.left) or _is_real(node.right)
    if isinstance(node, exp.Round):
        return _is_real(node.this)
    return False


def check(sql: str) -> list[str]:
    problems = []
    tree = sqlglot.parse_one(sql.replace("${day}", "2000-01-01"), read="trino")
    for node in tree.find_all(exp.DateDiff):
        problems.append(f"date_diff ({node.sql('trino')}): DuckDB counts boundaries, Trino whole units")
    for node in tree.find_all(exp.Div):
        if not (_is_real(node.left) or _is_real(node.right)):
            problems.append(f"division {node.sql('trino')}: CAST one side AS DOUBLE (integer division in Trino)")
    for node in tree.find_all(exp.Anonymous, exp.Func):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in UNTRANSLATABLE:
            problems.append(f"{name}: no faithful DuckDB translation")
    for node in tree.find_all(exp.TimeToStr, exp.StrToTime):
        problems.append(f"{node.sql('trino')}: date formatting patterns do not translate faithfully")
    return problems


def to_duckdb(sql: str) -> str:
    """The DuckDB text of one Athena query (after ``check`` found nothing)."""
    return sqlglot.transpile(sql, read="trino", write="duckdb")[0]
