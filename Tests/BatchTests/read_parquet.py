"""Reads pin-batch's Parquet parts with independent implementations and prints what they see.

usage: read_parquet.py pyarrow|duckdb FILE...

Prints one JSON array per row, values in column order (lists as arrays, nulls as null), reading
the files in the order given.
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


def main():
    mode, paths = sys.argv[1], sys.argv[2:]
    reader = rows_pyarrow if mode == "pyarrow" else rows_duckdb
    for path in paths:
        for row in reader(path):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
