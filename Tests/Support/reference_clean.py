"""A second, independent reading of SPEC 1.1/1.2 (validation, cleaning, deduplication) in plain Python,
to check pin-batch's output against on dirty generated records.

usage: reference_clean.py generate SAMPLE.jsonl DIR SEED
           writes three objects (partitions 0-2) of dirty records, pin-consume-s3's layout, under
           DIR/t/dt=2026-11-28/: real rows from SAMPLE with their fields replaced by edge cases of every
           rule (placeholders, near-misses, follower counts that round or overflow, tag lists to trim,
           loose index and downloaded forms (integral JSON numbers such as 100.0 and -0.0 are integers),
           wrong types, missing fields, malformed lines, repeated ids)
       reference_clean.py check DIR OUT
           reads the objects under DIR/t/, cleans them here, and compares with pin-batch's output in OUT
           (every Parquet row, the rejects file, _REPORT.json); prints one JSON object and exits 1 on
           any difference
       reference_clean.py check-table DIR DATABASE_URL TABLE
           the same for pin-stream-pg, when the objects' lines, in order, were the messages of a topic of
           one partition: compares every row of TABLE (read with psql) and the count of TABLE_rejected,
           where a row PostgreSQL cannot store (a NUL byte in text) is a dead letter too
"""
import decimal
import glob
import json
import os
import random
import re
import sys
import uuid

DATE = "2026-11-28"
UUID_FORM = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
OPTIONAL_TEXT = ["title", "description", "poster_name", "tag_list", "is_image_or_video", "image_src", "save_location"]
INT64_MAX = 2**63 - 1


def as_integer(value):
    """The integer a JSON number stands for, else None. JSON numbers are values: 1.0, 1e2 and -0
    are integers (records are read with parse_float=Decimal, so this is exact); 1.5 is not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, decimal.Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def valid(record):
    """The record's index and downloaded as they validate, or None when the record is rejected."""
    if not isinstance(record, dict):
        return None
    index = record.get("index")
    if isinstance(index, str) and re.fullmatch(r"[0-9]+", index):
        index = int(index)
    else:
        index = as_integer(index)
    if index is None or not 0 <= index <= INT64_MAX:
        return None
    unique_id = record.get("unique_id")
    if not isinstance(unique_id, str) or not UUID_FORM.fullmatch(unique_id):
        return None
    category = record.get("category")
    if not isinstance(category, str) or category == "":
        return None
    for field in OPTIONAL_TEXT:
        if record.get(field) is not None and not isinstance(record[field], str):
            return None
    count = record.get("follower_count")
    if count is not None and not isinstance(count, str):
        number = as_integer(count)
        if number is None or not -(2**63) <= number <= INT64_MAX:
            return None
    downloaded = record.get("downloaded")
    if downloaded is not None:
        if isinstance(downloaded, bool):
            pass
        elif as_integer(downloaded) in (0, 1):
            downloaded = as_integer(downloaded) == 1
        elif isinstance(downloaded, str) and downloaded in ("0", "1", "true", "false"):
            downloaded = downloaded in ("1", "true")
        else:
            return None
    return index, downloaded


def follower_count(value):
    if value is None:
        return None
    if not isinstance(value, str):
        number = as_integer(value)  # valid() let only integers in range through
        return number if number >= 0 else None  # a negative count is unparseable
    if re.fullmatch(r"[0-9]+", value):
        number = int(value)
    else:
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([kMB])", value)
        if not match:
            return None
        exact = decimal.Decimal(match.group(1)) * {"k": 1000, "M": 10**6, "B": 10**9}[match.group(2)]
        number = int(exact.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))
    return number if number <= INT64_MAX else None


def clean(record):
    """The clean row (SPEC 1.2 columns) of a raw record, or None when it is rejected."""
    checked = valid(record)
    if checked is None:
        return None
    index, downloaded = checked

    def text(field, placeholders=()):
        value = record.get(field)
        return None if value is None or value == "" or value in placeholders else value

    tags = record.get("tag_list")
    if tags is None or tags == "" or tags == "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e":
        tag_list = None
    else:
        tag_list = [item for item in (part.strip(" \t\n\r\x0b\x0c") for part in tags.split(",")) if item != ""]
    location = record.get("save_location")
    if location is not None and location.startswith("Local save in "):
        location = location[len("Local save in "):]
    return {
        "ind": index,
        "unique_id": record["unique_id"],
        "title": text("title", ("No Title Data Available",)),
        "description": text(
            "description", ("No description available Story format", "No description available", "Untitled")),
        "follower_count": follower_count(record.get("follower_count")),
        "poster_name": text("poster_name", ("User Info Error",)),
        "tag_list": tag_list,
        "is_image_or_video": record.get("is_image_or_video"),
        "image_src": text("image_src", ("Image src error.",)),
        "save_location": location,
        "category": record["category"],
        "downloaded": downloaded,
    }


def dirty(sample, ids, rng):
    def pick(common, rare):
        """Mostly one of the values a record may hold, sometimes one that gets it rejected."""
        return rng.choice(rare) if rng.random() < 0.04 else rng.choice(common)

    record = dict(rng.choice(sample))
    record["unique_id"] = rng.choice(ids)
    record["index"] = pick([rng.randint(0, 10**6), str(rng.randint(0, 9999)), 0, "007", INT64_MAX, 100.0, -0.0],
                           [2**63, -1, "12a", "", 1.5, True, None, 1e30, -2.0])
    record["follower_count"] = rng.choice([
        "2M", "10k", "1.5k", "1.2345k", "0.5k", "999", 305, 0, -5, 3.0, -2.0, "1.5", " 305", "1K", "-5", "",
        "User Info Error",
        None, "9223372036854775807", "9223372036854775808", "9223372036.854775807B", "9999999999B", "0.0005k",
        "1.0005k", "00012", "1.k", ".5k", "12kk", "\uff11\uff12", "2m"])
    if rng.random() < 0.02:
        record["follower_count"] = rng.choice([1.5, True, ["1"], 2**70])
    record["tag_list"] = rng.choice([
        record.get("tag_list"), record.get("tag_list"), ",", " , a ,b,, c\t", "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e",
        "n,o, ,T,a,g,s", "", None, "\u00a0x\u00a0,y", "a\u2003", "x,\x0by\x0c", "solo"])
    record["title"] = rng.choice([
        record.get("title"), "No Title Data Available", "no title data available", "", None,
        " No Title Data Available", "tab\tnl\n\"q\" \\ \u00e9 \U0001f389 nul\x00end"])
    record["description"] = rng.choice([
        record.get("description"), "Untitled", "untitled", "No description available",
        "No description available Story format", "", None])
    record["poster_name"] = rng.choice([record.get("poster_name"), "User Info Error", "", None])
    if rng.random() < 0.2:
        record.pop("poster_name", None)
    record["image_src"] = rng.choice([record.get("image_src"), "Image src error.", "", None])
    record["save_location"] = rng.choice([
        record.get("save_location"), "Local save in Local save in /data/x", "Local save in ", "",
        "local save in /x", None])
    record["downloaded"] = pick([0, 1, True, False, None, "0", "1", "true", "false", 1.0, 0.0], [2, "yes", "True", 0.5])
    if rng.random() < 0.03:
        record[rng.choice(["category", "title", "tag_list"])] = rng.choice(["", None, 5, ["a"]])
    if rng.random() < 0.03:
        record["extra"] = {"nested": [1, {"x": None}]}
    return record


def generate(sample_path, directory, seed):
    rng = random.Random(seed)
    sample = [json.loads(line) for line in open(sample_path, encoding="utf-8") if line.strip()]
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(1500)]
    ids += ["not-a-uuid", ids[0].upper()]
    folder = os.path.join(directory, "t", f"dt={DATE}")
    os.makedirs(folder, exist_ok=True)
    # Partition 1 starts later in its log, so offsets and input order disagree about who comes last.
    for partition, first_offset in enumerate([0, 1000, 0]):
        with open(os.path.join(folder, f"t+{partition}+{first_offset:020d}.jsonl"), "w", encoding="utf-8") as out:
            for _ in range(2000):
                out.write(json.dumps(dirty(sample, ids, rng), ensure_ascii=rng.random() < 0.5) + "\n")
            out.write("{not json\n")


def records(directory):
    """Every line of the objects, in input order (objects by name), with its offset in its partition."""
    for path in sorted(glob.glob(os.path.join(directory, "t", f"dt={DATE}", "*.jsonl"))):
        first_offset = int(os.path.basename(path).split("+")[2].split(".")[0])
        for number, line in enumerate(open(path, encoding="utf-8")):
            try:
                record = json.loads(line, parse_float=decimal.Decimal)
            except ValueError:
                record = None
            yield first_offset + number, record


def storable(row):
    texts = [value for value in row.values() if isinstance(value, str)] + (row["tag_list"] or [])
    return all("\x00" not in text for text in texts)


def check_table(directory, database_url, table):
    import subprocess

    winners, rejected = {}, 0
    for _, record in records(directory):
        row = clean(record) if record is not None else None
        if row is None or not storable(row):
            rejected += 1
        else:
            winners[row["unique_id"]] = row  # one partition: the later message wins
    columns = ", ".join(COLUMNS)

    def query(sql):
        return subprocess.run(["psql", database_url, "-Atc", sql], check=True, capture_output=True,
                              text=True).stdout.splitlines()

    stored = [json.loads(line) for line in query(f"SELECT row_to_json(t) FROM (SELECT {columns} FROM {table}) t")]
    got = {row["unique_id"]: row for row in stored}
    dead = int(query(f"SELECT count(*) FROM {table}_rejected")[0])
    mismatches = [{"unique_id": key, "expected": row, "stored": got.get(key)}
                  for key, row in winners.items() if got.get(key) != row]
    mismatches += [{"unique_id": key, "unexpected": True} for key in got if key not in winners]
    print(json.dumps({"rows": len(winners), "rejected": rejected, "stored rows": len(stored), "dead letters": dead,
                      "mismatches": len(mismatches), "first mismatches": mismatches[:3]}, ensure_ascii=False))
    return 0 if not mismatches and len(stored) == len(winners) and dead == rejected else 1


COLUMNS = ["ind", "unique_id", "title", "description", "follower_count", "poster_name", "tag_list",
           "is_image_or_video", "image_src", "save_location", "category", "downloaded"]


def check(directory, out):
    # The highest Kafka position wins: the offset (the object's first offset, from its name, plus the line's
    # place in it), then input order (objects by name, lines in order).
    winners, positions, valid_rows, lines, rejected = {}, {}, 0, 0, 0
    for offset, record in records(directory):
        lines += 1
        position = (offset, lines)
        row = clean(record) if record is not None else None
        if row is None:
            rejected += 1
            continue
        valid_rows += 1
        if row["unique_id"] not in positions or position > positions[row["unique_id"]]:
            positions[row["unique_id"]] = position
            winners[row["unique_id"]] = row

    import pyarrow.parquet as pq

    parts = sorted(glob.glob(os.path.join(out, f"dt={DATE}", "part-*.parquet")))
    rows = [row for part in parts for row in pq.read_table(part).to_pylist()]
    got = {row["unique_id"]: row for row in rows}
    mismatches = []
    for unique_id, expected in winners.items():
        actual = got.get(unique_id)
        if actual != expected:
            mismatches.append({"unique_id": unique_id, "expected": expected, "pin-batch": actual})
    mismatches += [{"unique_id": key, "unexpected": True} for key in got if key not in winners]
    rejects_file = os.path.join(out, "_rejected", f"dt={DATE}", "rejects.ndjson")
    rejects = sum(1 for _ in open(rejects_file, encoding="utf-8")) if os.path.exists(rejects_file) else 0
    report = json.load(open(os.path.join(out, f"dt={DATE}", "_REPORT.json"), encoding="utf-8"))
    summary = {
        "lines": lines, "rows": len(winners), "duplicates": valid_rows - len(winners), "rejected": rejected,
        "pin-batch rows": len(rows), "pin-batch rejects file": rejects,
        "report": {key: report.get(key) for key in ("rows_in", "rows_out", "duplicates", "rejects")},
        "mismatches": len(mismatches), "first mismatches": mismatches[:3],
    }
    ok = (not mismatches and len(rows) == len(winners) and rejects == rejected
          and report.get("rows_out") == len(winners) and report.get("duplicates") == valid_rows - len(winners)
          and report.get("rejects") == rejected)
    print(json.dumps(summary, ensure_ascii=False, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "check-table":
        sys.exit(check_table(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
