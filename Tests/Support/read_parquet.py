"""Reads Parquet files with independent implementations (pyarrow, DuckDB, Spark) and prints what they see.

usage: read_parquet.py MODE FILE...

pyarrow, duckdb, spark: one JSON array per row, values in column order (lists as arrays, nulls as null),
                        reading the files in the order given.
metadata: one JSON object describing the footer of FILE as pyarrow parses it.
groups: per file, a JSON array of the row counts of its row groups and its page compression.
aggregate: one JSON object of DuckDB aggregates of FILE (rows, sum of the first column, non-null count per
           column, list elements per list column).
compare EXPECTED FILE: reads FILE with all three readers and compares every row, in order, with the
           JSON arrays in EXPECTED (one per line); prints one JSON object: rows matched per reader and
           the first mismatches.
"""
import json
import os
import sys


def rows_pyarrow(path):
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    for batch in file.iter_batches(batch_size=10000):
        for row in batch.to_pylist():
            yield [row[name] for name in names]


def rows_duckdb(path):
    import duckdb

    connection = duckdb.connect()
    # A dt=YYYY-MM-DD folder would otherwise add a hive partition column.
    cursor = connection.execute("SELECT * FROM read_parquet(?, hive_partitioning = false)", [path])
    while True:
        batch = cursor.fetchmany(10000)
        if not batch:
            break
        for row in batch:
            yield list(row)


_spark = None


def spark_session():
    global _spark
    if _spark is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        _spark = (
            SparkSession.builder.master("local[2]")
            .appName("read_parquet")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def rows_spark(path):
    # One file, read by Spark's own Parquet reader; partitions come back in file order.
    # Spark's reader decodes the file; the rows travel to Python as Arrow, which is fast, in partition order.
    frame = spark_session().read.option("basePath", os.path.dirname(path) or ".").parquet(path)
    names = frame.columns
    for batch in frame.toArrow().to_batches(max_chunksize=10000):
        for row in batch.to_pylist():
            yield [row[name] for name in names]


READERS = {"pyarrow": rows_pyarrow, "duckdb": rows_duckdb, "spark": rows_spark}


def groups(path):
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    codec = meta.row_group(0).column(0).compression if meta.num_row_groups else None
    return [sizes, codec]


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
    row_groups = []
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
        row_groups.append({"num_rows": group.num_rows, "columns": columns})
    return {
        "created_by": meta.created_by,
        "num_rows": meta.num_rows,
        "format_version": meta.format_version,
        "arrow_schema": str(file.schema_arrow),
        "row_groups": row_groups,
    }


def compare(expected_path, path):
    # One pass over the expected rows, all three readers in step, so each line is parsed once.
    readers = {name: reader(path) for name, reader in READERS.items()}
    matched = {name: 0 for name in readers}
    mismatches = []
    number = 0
    with open(expected_path, encoding="utf-8") as expected:
        for number, line in enumerate(expected, 1):
            want = json.loads(line)
            for name, rows in readers.items():
                got = next(rows, None)
                if got == want:
                    matched[name] += 1
                elif len(mismatches) < 5:
                    mismatches.append({"reader": name, "row": number, "want": want, "got": got})
    for name, rows in readers.items():
        extra = sum(1 for _ in rows)
        if extra:
            mismatches.append({"reader": name, "extra_rows": extra})
    return {"expected": number, "matched": matched, "mismatches": mismatches}


def main():
    mode, paths = sys.argv[1], sys.argv[2:]
    out = sys.stdout
    if mode in ("metadata", "aggregate"):
        result = metadata(paths[0]) if mode == "metadata" else aggregate(paths[0])
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    elif mode == "compare":
        out.write(json.dumps(compare(paths[0], paths[1]), ensure_ascii=False) + "\n")
    elif mode == "groups":
        for path in paths:
            out.write(json.dumps(groups(path)) + "\n")
    else:
        for path in paths:
            for row in READERS[mode](path):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
