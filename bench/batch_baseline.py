"""The batch job done by the engines pin-batch is measured against: DuckDB and Spark local[2].

usage: batch_baseline.py duckdb|spark SOURCE_DIR DEST_DIR

Reads every *.jsonl under SOURCE_DIR, applies the cleaning rules of SPEC 1.2 in SQL, keeps one row per
unique_id and writes zstd Parquet under DEST_DIR. Same job as `pin-batch --all`, minus the reject
files and the report; the SQL is the one a team would write for either engine.
"""
import os
import sys

TITLE = "'No Title Data Available'"
DESCRIPTIONS = "'No description available Story format', 'No description available', 'Untitled'"
TAGS = "'N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e'"


def cleaning_sql(source, matches, split_tags):
    """SELECT of the clean columns from `source`, whose raw columns are all strings."""
    fc = "follower_count"
    return f"""
    SELECT
      CAST(index AS BIGINT) AS ind,
      unique_id,
      CASE WHEN title = '' OR title = {TITLE} THEN NULL ELSE title END AS title,
      CASE WHEN description = '' OR description IN ({DESCRIPTIONS}) THEN NULL ELSE description END AS description,
      CASE
        WHEN {matches(fc, "^[0-9]+$")} THEN TRY_CAST({fc} AS BIGINT)
        WHEN {matches(fc, "^[0-9]+([.][0-9]+)?[kMB]$")} THEN CAST(ROUND(
          CAST(substr({fc}, 1, length({fc}) - 1) AS DECIMAL(38, 10))
          * CASE substr({fc}, length({fc}), 1) WHEN 'k' THEN 1000 WHEN 'M' THEN 1000000 ELSE 1000000000 END
        ) AS BIGINT)
      END AS follower_count,
      CASE WHEN poster_name = '' OR poster_name = 'User Info Error' THEN NULL ELSE poster_name END AS poster_name,
      CASE WHEN tag_list = '' OR tag_list = {TAGS} THEN NULL ELSE {split_tags} END AS tag_list,
      is_image_or_video,
      CASE WHEN image_src = '' OR image_src = 'Image src error.' THEN NULL ELSE image_src END AS image_src,
      CASE WHEN substr(save_location, 1, 14) = 'Local save in ' THEN substr(save_location, 15)
           ELSE save_location END AS save_location,
      category,
      CASE WHEN downloaded IN ('1', 'true') THEN TRUE WHEN downloaded IN ('0', 'false') THEN FALSE END AS downloaded
    FROM {source}
    """


COLUMNS = [
    "index", "unique_id", "title", "description", "poster_name", "follower_count", "tag_list",
    "is_image_or_video", "image_src", "downloaded", "save_location", "category",
]


def run_duckdb(source, dest):
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in COLUMNS) + "}"
    raw = f"read_json('{source}/**/*.jsonl', format = 'newline_delimited', columns = {columns})"
    split = "list_filter(list_transform(string_split(tag_list, ','), lambda x: trim(x, ' \t\n\r\x0b\x0c')), lambda x: x <> '')"
    clean = cleaning_sql(raw, lambda column, pattern: f"regexp_matches({column}, '{pattern}')", split)
    os.makedirs(dest, exist_ok=True)
    connection.execute(
        f"COPY (SELECT * FROM ({clean}) QUALIFY row_number() OVER (PARTITION BY unique_id) = 1) "
        f"TO '{dest}/part-00000.parquet' (FORMAT parquet, COMPRESSION zstd)"
    )


def run_spark(source, dest):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StringType, StructField, StructType

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("batch-baseline")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    schema = StructType([StructField(name, StringType()) for name in COLUMNS])
    spark.read.schema(schema).json(f"{source}/*/*/*.jsonl").createOrReplaceTempView("raw")
    split = "filter(transform(split(tag_list, ','), x -> trim(x)), x -> x <> '')"
    clean = cleaning_sql("raw", lambda column, pattern: f"{column} RLIKE '{pattern}'", split)
    spark.sql(f"SELECT * FROM ({clean})").dropDuplicates(["unique_id"]).write.mode("overwrite").parquet(dest)
    spark.stop()


def main():
    engine, source, dest = sys.argv[1], sys.argv[2], sys.argv[3]
    {"duckdb": run_duckdb, "spark": run_spark}[engine](source, dest)


if __name__ == "__main__":
    main()
