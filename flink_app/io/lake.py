"""Writing curated rows as Parquet to a local folder or S3, Hive-partitioned by UTC date and hour.

``io/objects.py`` holds the files: ``s3://`` through boto3 (an endpoint for moto), or a local
folder. Files are whole objects: nothing is appended in place, a half-written file is never
visible under its final name (an S3 PUT is atomic; locally a temporary name is renamed).

Exactly once across restarts (``commit`` and ``recover``): the sink numbers its flushes and
keeps the number in Flink state. Before writing flush N it writes a small journal entry
``_journal/<table>/<lineage>/<N>.json`` naming the files it will write. After a restore the
state holds the number of the last flush the checkpoint saw; every journal entry above it
belongs to flushes whose rows are about to be replayed, so ``recover`` deletes their files
before anything is written again. ``lineage`` is a random id kept in state, so a new job
never touches an earlier job's files, and a restored one finds its own.
"""

from __future__ import annotations

import gc
import json
import logging
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter

import pyarrow as pa

from core.canary import CANARY_HOSPITAL
from core.pseudonym import PSEUDONYMS, Pseudonymiser
from core.schema.tables import ALL_TABLES, PARTITION_TIME
from flink_app.io.objects import store

log = logging.getLogger(__name__)


def partition_of(ts_ms: int) -> str:
    return _hour_partition(ts_ms // 3_600_000)


def partition_parts(ts_ms: int) -> tuple[str, str]:
    """(dt, hour) of a timestamp's partition (UTC), the values behind ``partition_of``'s path."""
    return _hour_parts(ts_ms // 3_600_000)


@lru_cache(maxsize=8192)
def _hour_parts(hour: int) -> tuple[str, str]:
    """Cached per hour: formatting a datetime per row was ~5% of the job's Python time."""
    t = datetime.fromtimestamp(hour * 3600, tz=UTC)
    return f"{t:%Y-%m-%d}", f"{t:%H}"


@lru_cache(maxsize=8192)
def _hour_partition(hour: int) -> str:
    dt, hh = _hour_parts(hour)
    return f"dt={dt}/hour={hh}"


def _source_names(schema: pa.Schema) -> list[str]:
    """The columns rows carry: all but the pseudonymous keys, which end the schema and the sink fills."""
    keyed = [name for name in schema.names if name in PSEUDONYMS]
    if keyed and schema.names[-len(keyed):] != keyed:
        raise AssertionError(f"pseudonymous key columns {keyed} must end the schema")
    return schema.names[:len(schema.names) - len(keyed)]


_SOURCE_NAMES = {name: _source_names(schema) for name, schema in ALL_TABLES.items()}
_COLUMNS = {name: itemgetter(*names) for name, names in _SOURCE_NAMES.items()}
# The row positions the keys are computed from, in the order of the key columns.
_KEYED_FROM = {name: [schema.get_field_index(PSEUDONYMS[key]) for key in schema.names if key in PSEUDONYMS]
               for name, schema in ALL_TABLES.items()}
_TIME_INDEX = {name: schema.get_field_index(PARTITION_TIME[name]) for name, schema in ALL_TABLES.items()}
_HOSPITAL_INDEX = {name: schema.get_field_index("hospital_id") for name, schema in ALL_TABLES.items()}  # -1: none


def split_canary(table: str, rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """(curated rows, the canary's rows) of column-ordered rows: the canary's synthetic patient
    (``core/canary.py``) is kept apart, so no report, dashboard or board counts it."""
    at = _HOSPITAL_INDEX[table]
    if at < 0:
        return rows, []
    canary = [row for row in rows if row[at] == CANARY_HOSPITAL]
    return ([row for row in rows if row[at] != CANARY_HOSPITAL], canary) if canary else (rows, [])


def to_tuples(table: str, rows: list[dict]) -> list[tuple]:
    """Rows as tuples in the table's column order, the form the sink buffers and writes.

    Tuples pickle to half the bytes of dicts (no keys) and become Arrow columns with one
    ``zip``: ``pa.Table.from_pylist`` on dicts was 40 us a row, a fifth of a TaskManager's
    Python time at full load (bench profile). A column a row lacks is null, as from_pylist has it.
    """
    columns = _COLUMNS[table]
    try:
        return [columns(row) for row in rows]
    except KeyError:
        names = _SOURCE_NAMES[table]
        return [tuple(row.get(name) for name in names) for row in rows]


def _as_tuples(table: str, rows: list[dict] | list[tuple]) -> list[tuple]:
    """Tuples as they are; dict rows (from callers outside the sink, or a buffer restored from a
    checkpoint taken before the sink kept tuples) converted, row by row."""
    if all(type(row) is tuple for row in rows):
        return rows
    return [row if type(row) is tuple else to_tuples(table, [row])[0] for row in rows]


def with_keys(table: str, rows: list[tuple], keys: Pseudonymiser | None) -> list[tuple]:
    """Rows with their pseudonymous keys appended (``core/pseudonym.py``); null keys without a
    ``Pseudonymiser`` (a test or tool writing a lake no analyst reads). Full rows stay as they are."""
    sources = _KEYED_FROM[table]
    if not sources:
        return rows
    width = len(_SOURCE_NAMES[table])
    if keys is None:
        blank = (None,) * len(sources)
        return [row + blank if len(row) == width else row for row in rows]
    key = keys.key
    if len(sources) == 2:  # patient and encounter: no generator per row (2.8 -> 1.0 us a row)
        a, b = sources
        return [row + (key(row[a]), key(row[b])) if len(row) == width else row for row in rows]
    return [row + tuple(key(row[i]) for i in sources) if len(row) == width else row for row in rows]


def _by_partition(table: str, rows: list[dict] | list[tuple], keys: Pseudonymiser | None) -> dict[str, list[tuple]]:
    """Rows as tuples with their keys, grouped by their ``dt=/hour=`` partition."""
    grouped: dict[str, list[tuple]] = defaultdict(list)
    time_index = _TIME_INDEX[table]
    for row in with_keys(table, _as_tuples(table, rows), keys):
        grouped[partition_of(row[time_index])].append(row)
    return grouped


class RowsNotWritable(ValueError):
    """Some rows of a flush cannot be held by the table (wrong type, a time with no partition).
    Raised before anything is written; ``split_writable`` finds them."""


def split_writable(table: str, rows: list[dict] | list[tuple],
                   keys: Pseudonymiser | None = None) -> tuple[list[tuple], list[tuple[tuple, str]]]:
    """(rows the table can hold, [(row, reason)] for those it cannot), row by row: a row of the
    wrong type or time must become a dead letter, never an exception that restarts the job on it.
    Only called once a flush raised ``RowsNotWritable``, so good flushes are converted once."""
    time_index = _TIME_INDEX[table]
    good, bad = [], []
    for row in with_keys(table, _as_tuples(table, rows), keys):
        try:
            arrow_table(table, [row])
            partition_of(row[time_index])
            good.append(row)
        except Exception as exc:  # noqa: BLE001 - any conversion error is about this row's data
            bad.append((row, f"{table} row not writable{_column_at_fault(table, row)}: "
                             f"{type(exc).__name__}: {str(exc)[:200]}"))
    return good, bad


def _column_at_fault(table: str, row: tuple) -> str:
    """" (column x)" naming the first column the schema cannot hold, so an operator need not guess."""
    for value, field in zip(row, ALL_TABLES[table], strict=False):
        try:
            pa.array([value], type=field.type)
        except Exception:  # noqa: BLE001 - any conversion error names this column
            return f" (column {field.name})"
    return ""  # every column converts: the time has no partition


def _batches(table: str, rows: list[dict] | list[tuple], keys: Pseudonymiser | None) -> dict[str, pa.Table]:
    """Rows as one Arrow table per ``dt=/hour=`` partition; ``RowsNotWritable`` if any row cannot be."""
    try:
        return {p: arrow_table(table, part_rows) for p, part_rows in sorted(_by_partition(table, rows, keys).items())}
    except Exception as exc:  # noqa: BLE001 - conversion does no I/O: any error is about the data
        raise RowsNotWritable(f"{table}: {type(exc).__name__}: {str(exc)[:200]}") from exc


def arrow_table(table: str, rows: list[tuple]) -> pa.Table:
    schema = ALL_TABLES[table]
    with gc_paused():  # zip(*rows) makes an iterator per row: 11 us a row with the collector on, 2 without
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        return pa.Table.from_arrays([pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)],
                                    schema=schema)


@contextmanager
def gc_paused():
    """No cyclic GC while a large batch of rows is built: the collector would rescan the growing
    batch again and again (unpickling 10,000 rows took 5x longer with it). Rows hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class LakeWriter:
    def __init__(self, uri: str, region: str = "us-east-1", endpoint_url: str = "", keys: Pseudonymiser | None = None):
        self.store = store(uri, region, endpoint_url)
        self.root = self.store.root
        self.keys = keys

    def write(self, table: str, rows: list[dict] | list[tuple], file_stem: str) -> list[str]:
        """Write rows (dicts, or tuples in column order from ``to_tuples``) to one file per partition;
        returns the paths written."""
        return self._write_partitions(table, _batches(table, rows, self.keys), file_stem)

    def _write_partitions(self, table: str, batches: dict[str, pa.Table], file_stem: str) -> list[str]:
        written = []
        for partition, batch in batches.items():
            path = f"{self.root}/{table}/{partition}/{file_stem}.parquet"
            self.store.put_parquet(path, batch)
            written.append(path)
        return written

    # ---- exactly-once commit ------------------------------------------------------------
    def _journal_dir(self, table: str, lineage: str) -> str:
        return f"{self.root}/_journal/{table}/{lineage}"

    def commit(self, table: str, rows: list[dict] | list[tuple], lineage: str, flush_no: int,
               dead: list[dict] | None = None) -> list[str]:
        """Write one flush, journaled first; deterministic names, so a retry overwrites.

        Every row is converted before the journal entry is written, so ``RowsNotWritable`` leaves
        nothing behind. ``dead``: dead-letter rows for rows of this flush the table could not hold,
        written in the same journaled flush (under ``dead_letter/``, named for this table)."""
        stem = f"part-{lineage}-{flush_no:010d}"
        parts = {table: (_batches(table, rows, self.keys), stem)}
        if dead:
            parts["dead_letter"] = (_batches("dead_letter", dead, None), f"part-{lineage}-{table}-{flush_no:010d}")
        planned = [f"{self.root}/{t}/{p}/{name}.parquet" for t, (by_p, name) in parts.items() for p in sorted(by_p)]
        # Whole or absent (``ObjectStore.put``), so a full disk never leaves a truncated entry that
        # every later restore would trip on.
        self.store.put(f"{self._journal_dir(table, lineage)}/{flush_no:010d}.json",
                       json.dumps({"flush": flush_no, "files": planned}).encode())
        written = [path for t, (by_p, name) in parts.items() for path in self._write_partitions(t, by_p, name)]
        assert sorted(written) == sorted(planned)
        return written

    def recover(self, table: str, lineage: str, last_flush: int, keep: int = 20) -> list[str]:
        """Delete files of flushes after ``last_flush`` (they will be replayed); prune old journal entries."""
        removed = []
        for entry in self.store.list(self._journal_dir(table, lineage)):
            name = entry.rsplit("/", 1)[1]
            if not name.endswith(".json"):
                continue
            flush_no = int(name[:-5])
            if flush_no > last_flush:
                try:
                    planned = json.loads(self.store.get(entry))["files"]
                except (ValueError, KeyError, TypeError):
                    # Unreadable (an entry from before entries were renamed into place, cut short
                    # by a full disk): the flush failed while writing its journal, before any file.
                    log.warning("lake %s: journal entry %s unreadable; its flush wrote no files", table, name)
                    planned = []
                removed += [path for path in planned if self.store.delete(path)]  # absent: died before it
                self.store.delete(entry)
            elif flush_no <= last_flush - keep:
                self.store.delete(entry)  # long committed: its journal entry is no longer needed
        return removed
