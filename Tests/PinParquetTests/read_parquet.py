"""Reads a Parquet file with an independent implementation and prints what it sees as JSON lines.

usage: read_parquet.py pyarrow|duckdb|metadata FILE

pyarrow, duckdb: one JSON array per row, values in column order (lists as arrays, nulls as null).
metadata: one JSON object describing the footer as pyarrow parses it.
aggregate: one JSON object of DuckDB aggregates (rows, sum of the first column, non-null count per column,
           list elements per list column), for files too large to compare row by row.
"""
import json
import sys


def rows_pyarrow(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = table.column_names
    for row in table.to_pylist():
        yield [row[name] for name in names]


def rows_duckdb(path):
    import duckdb

    connection = duckdb.connect()
    cursor = connection.execute("SELECT * FROM read_parquet(?)", [path])
    while True:
        batch = cursor.fetchmany(10000)
        if not batch:
            break
        for row in batch:
            yield list(row)


def aggregate(path):
    import duckdb

    connection = duckdb.connect()
    relation = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    names = [row[0] for row in relation]
    types = [row[1] for row in relation]
    parts = ["count(*)", f'sum("{names[0]}")::VARCHAR']
    parts += [f'count("{name}")' for name in names]
    lists = [name for name, kind in zip(names, types) if kind.endswith("[]")]
    parts += [f'sum(len("{name}"))' for name in lists]
    row = connection.execute(f"SELECT {', '.join(parts)} FROM read_parquet(?)", [path]).fetchone()
    count, first_sum = row[0], row[1]
    non_null = dict(zip(names, row[2 : 2 + len(names)]))
    elements = dict(zip(lists, row[2 + len(names) :]))
    return {"rows": count, "first_sum": first_sum, "non_null": non_null, "list_elements": elements}


def metadata(path):
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    meta = file.metadata
    groups = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        columns = []
        for c in range(group.num_columns):
            column = group.column(c)
            stats = column.statistics
            entry = {
                "path": column.path_in_schema,
                "physical_type": column.physical_type,
                "compression": column.compression,
                "encodings": list(column.encodings),
                "has_dictionary_page": column.has_dictionary_page,
                "num_values": column.num_values,
                "null_count": None,
                "min": None,
                "max": None,
            }
            if stats is not None:
                entry["null_count"] = stats.null_count if stats.has_null_count else None
                if stats.has_min_max:
                    entry["min"] = stats.min
                    entry["max"] = stats.max
            columns.append(entry)
        groups.append({"num_rows": group.num_rows, "columns": columns})
    return {
        "created_by": meta.created_by,
        "num_rows": meta.num_rows,
        "format_version": meta.format_version,
        "arrow_schema": str(file.schema_arrow),
        "row_groups": groups,
    }


def main():
    mode, path = sys.argv[1], sys.argv[2]
    out = sys.stdout
    if mode in ("metadata", "aggregate"):
        result = metadata(path) if mode == "metadata" else aggregate(path)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    rows = rows_pyarrow(path) if mode == "pyarrow" else rows_duckdb(path)
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
