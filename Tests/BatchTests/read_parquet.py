"""Reads pin-batch's Parquet parts with independent implementations and prints what they see.

usage: read_parquet.py pyarrow|duckdb|groups FILE...

pyarrow, duckdb: one JSON array per row, values in column order (lists as arrays, nulls as null),
reading the files in the order given.
groups: per file, a JSON array of the row counts of its row groups and its page compression.
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
    # The dt=YYYY-MM-DD folder would otherwise add a hive partition column.
    cursor = connection.execute("SELECT * FROM read_parquet(?, hive_partitioning = false)", [path])
    while True:
        batch = cursor.fetchmany(10000)
        if not batch:
            break
        for row in batch:
            yield list(row)


def groups(path):
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    codec = meta.row_group(0).column(0).compression if meta.num_row_groups else None
    return [sizes, codec]


def main():
    mode, paths = sys.argv[1], sys.argv[2:]
    if mode == "groups":
        for path in paths:
            sys.stdout.write(json.dumps(groups(path)) + "\n")
        return
    reader = rows_pyarrow if mode == "pyarrow" else rows_duckdb
    for path in paths:
        for row in reader(path):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
