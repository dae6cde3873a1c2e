"""What analysts may see of the curated lake: views without patient or encounter ids or free text.

Source system E gave analysts secure views with sensitive columns masked; this is ours. Every
curated table with patients gets an analyst view of the same name in the analyst database: the
same rows, the pseudonymous ``patient_key`` and ``encounter_key`` instead of the ids
(``core/pseudonym.py``), and none of the columns below. ``dead_letter`` has no view (its
payload is what a source sent, however scrubbed). One declaration, three users: the Athena
views and the Lake Formation column grants on AWS (``infra/analyst.py``) and the local engine's
``analyst`` schema (``reports/engine.py``), so what an analyst sees is tested here, in DuckDB.
Plain Python, no CDK.
"""

from __future__ import annotations

from core.schema.phi import FREE_TEXT_FIELDS
from core.schema.tables import TABLES

# column -> why an analyst does not get it (HIPAA Safe Harbor identifiers, 45 CFR 164.514(b)(2),
# and text a clinician or a source wrote, which can hold anything).
WITHHELD: dict[str, str] = {
    "patient_id": "identifier (patient_key instead)",
    "encounter_id": "identifier (encounter_key instead)",
    "device_id": "device identifier (Safe Harbor (M))",
    "bed": "with the time, names the patient to anyone who was on the ward",
    "room": "with the time, names the patient to anyone who was on the ward",
    "doctor_id": "identifies a clinician",
    "doctor_name": "identifies a clinician",
    **FREE_TEXT_FIELDS,
}
NO_VIEW: dict[str, str] = {"dead_letter": "refused records: what a source sent, however scrubbed"}
PARTITIONS = ("dt", "hour")  # columns of the path, which every view keeps


def analyst_tables() -> list[str]:
    return [t for t in TABLES if t not in NO_VIEW]


def visible_columns(table: str) -> list[str]:
    """The table's columns an analyst sees, in table order (partition columns not included)."""
    if table in NO_VIEW:
        raise KeyError(f"{table} has no analyst view: {NO_VIEW[table]}")
    return [name for name in TABLES[table].names if name not in WITHHELD]


def view_columns(table: str) -> list[str]:
    """The analyst view's columns: the visible ones, then the partition columns."""
    return [*visible_columns(table), *PARTITIONS]


def withheld_columns(table: str) -> list[str]:
    return [name for name in TABLES[table].names if name in WITHHELD]


def view_sql(table: str, source_schema: str) -> str:
    """The analyst view's query, the same in Athena (Trino) and DuckDB."""
    columns = ", ".join(f'"{c}"' for c in view_columns(table))
    return f'SELECT {columns} FROM "{source_schema}"."{table}"'
