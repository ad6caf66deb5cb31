"""Hash banks: recall per transform for dHash, PDQ and both, false matches among distinct
pictures, lookup latency and memory at 10k and 100k entries, and bank load time.

Recall: every distinct picture of the corpus (`local.tools.hash_corpus`: the package
pictures, the generated ones not derived from another, and `--scenes` random scenes) is
a bank entry (its PDQ and dHash, as `POST /banks/{bank}/entries {"job_id"}` stores
them); each transformed copy is looked up as the custom analyzer does
(`bank_index.query_of`: eight dihedral variants of each hash) with the default
distances of a new bank (PDQ 31 bits, quality >= 50; dHash 8 bits). A copy counts as found when it
matches its own original's entry. False matches: each original looked up against a bank
of every other picture, and each transformed copy against every entry but its original.

Scale: banks of 10,000 and 100,000 random entries (PDQ and dHash); the lookup is
`bank_index.match` on a precomputed query (p50/p95 over `--lookups`), and the whole
per-image cost adds the hashing (`query_of`). Load: building the arrays from 100,000
items as the Scan returns them, and a real parallel Scan of 10,000 items from in-process
moto (moto's own overhead makes it an upper bound).

    python -m bench.banks [--scenes 60] [--lookups 200] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas")]

from bench.machine import describe  # noqa: E402
from common import bank_index, pdq  # noqa: E402
from common.images import dhash  # noqa: E402
from local.tools import hash_corpus, safe_images  # noqa: E402

GOALS = {"recall": 0.9, "transforms_meeting_recall": 7, "false_matches": 0, "p95_ms": 50}
DISTANCES = {"pdq": pdq.DEFAULT_MAX_DISTANCE, "dhash": 8}
# Generated pictures derived from another one of the corpus (not distinct from it).
DERIVED = {"hopper_tall", "hopper_sepia", "gradient"}


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _crop(img: Image.Image) -> Image.Image:
    w, h = img.size
    dx, dy = round(w * 0.05), round(h * 0.05)
    return img.crop((dx, dy, w - dx, h - dy))


def _caption(img: Image.Image) -> Image.Image:
    """A meme-style strip under the picture: a white band of 15% with black text."""
    w, h = img.size
    band = max(24, round(h * 0.15))
    out = Image.new("RGB", (w, h + band), "white")
    out.paste(img.convert("RGB"), (0, 0))
    font = ImageFont.truetype(safe_images.font_path(), max(12, band // 2))
    ImageDraw.Draw(out).text((10, h + band // 5), "when the bench runs", font=font, fill="black")
    return out


def _border(img: Image.Image) -> Image.Image:
    w, h = img.size
    return ImageOps.expand(img.convert("RGB"), border=round(min(w, h) * 0.08), fill=(0, 0, 0))


TRANSFORMS = {
    "resize_50": lambda im: im.resize((max(1, im.width // 2), max(1, im.height // 2))),
    "jpeg_q40": lambda im: _jpeg(im, 40),
    "crop_10": _crop,
    "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rotate_90": lambda im: im.transpose(Image.Transpose.ROTATE_90),
    "brightness_25": lambda im: ImageEnhance.Brightness(im).enhance(1.25),
    "caption_strip": _caption,
    "border_padding": _border,
    "greyscale": lambda im: im.convert("L").convert("RGB"),
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _entries(pictures: list[tuple[str, Image.Image]]) -> list[dict[str, Any]]:
    out = []
    for name, img in pictures:
        hashed = pdq.hash_image(img)
        entry: dict[str, Any] = {"entry_id": name, "dhash": dhash(img)}
        if hashed.quality >= pdq.MIN_QUALITY:
            entry["pdq"] = hashed.hash
        out.append(entry)
    return out


def _banks(entries: list[dict[str, Any]], kinds: tuple[str, ...]) -> list[bank_index.Bank]:
    kept = [{"entry_id": e["entry_id"], **{k: e[k] for k in kinds if k in e}} for e in entries]
    return [bank_index.build_bank("bench", "reject", DISTANCES, kept)]


MODES = {"dhash": ("dhash",), "pdq": ("pdq",), "both": ("pdq", "dhash")}


def recall(pictures: list[tuple[str, Image.Image]]) -> dict[str, Any]:
    entries = _entries(pictures)
    names = [n for n, _ in pictures]
    per_transform: dict[str, dict[str, Any]] = {}
    false_matches = {mode: 0 for mode in MODES}
    # Originals against every other picture.
    queries = {n: bank_index.query_of(img) for n, img in pictures}
    for mode, kinds in MODES.items():
        for i, name in enumerate(names):
            others = _banks(entries[:i] + entries[i + 1 :], kinds)
            false_matches[mode] += len(bank_index.match(others, queries[name]))
    for tname, transform in TRANSFORMS.items():
        copies = {n: bank_index.query_of(transform(img)) for n, img in pictures}
        row: dict[str, Any] = {}
        for mode, kinds in MODES.items():
            found = wrong = 0
            for i, name in enumerate(names):
                own = bank_index.match(_banks([entries[i]], kinds), copies[name])
                found += bool(own)
                others = _banks(entries[:i] + entries[i + 1 :], kinds)
                wrong += len(bank_index.match(others, copies[name]))
            row[mode] = {"found": found, "recall": round(found / len(names), 3)}
            false_matches[mode] += wrong
        per_transform[tname] = row
    meeting = {
        mode: sum(per_transform[t][mode]["recall"] >= GOALS["recall"] for t in TRANSFORMS)
        for mode in MODES
    }
    return {
        "pictures": len(names),
        "per_transform": per_transform,
        "transforms_meeting_recall": meeting,
        "false_matches": false_matches,
    }


def _random_entries(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    words = rng.integers(0, 2**63, size=(n, 5), dtype=np.int64).astype(np.uint64) * 2 + 1
    return [
        {
            "entry_id": f"e{i:07d}",
            "pdq": "".join(f"{int(w):016x}" for w in row[:4]),
            "dhash": f"{int(row[4]):016x}",
            "enabled": True,
        }
        for i, row in enumerate(words)
    ]


def scale(sizes: list[int], lookups: int) -> dict[str, Any]:
    rng = np.random.default_rng(22)
    photo = safe_images.grace_hopper()
    query = bank_index.query_of(photo)
    hash_ms = []
    for _ in range(min(lookups, 30)):
        started = time.perf_counter()
        bank_index.query_of(photo)
        hash_ms.append((time.perf_counter() - started) * 1000)
    out: dict[str, Any] = {
        "query_hash_ms_p50": _pct(hash_ms, 0.5),
        "query_hash_ms_p95": _pct(hash_ms, 0.95),
    }
    for n in sizes:
        items = _random_entries(n, rng)
        started = time.perf_counter()
        bank = bank_index.build_bank("scale", "reject", DISTANCES, items)
        build_ms = (time.perf_counter() - started) * 1000
        took = []
        for _ in range(lookups):
            started = time.perf_counter()
            bank_index.match([bank], query)
            took.append((time.perf_counter() - started) * 1000)
        ids_bytes = sum(sys.getsizeof(i) for i in bank.pdq_ids) + sys.getsizeof(bank.pdq_ids)
        out[str(n)] = {
            "lookup_ms_p50": _pct(took, 0.5),
            "lookup_ms_p95": _pct(took, 0.95),
            "per_image_ms_p95": round(_pct(took, 0.95) + out["query_hash_ms_p95"], 3),
            "arrays_mb": round(bank.nbytes / 2**20, 2),
            "memory_mb": round((bank.nbytes + 2 * ids_bytes) / 2**20, 2),
            "build_from_items_ms": round(build_ms, 1),
        }
    return out


def moto_load(n: int) -> dict[str, Any]:
    """A real parallel Scan of `n` items from in-process moto, then the arrays."""
    import os

    import boto3
    from moto import mock_aws

    from common import banks

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with mock_aws():
        table = boto3.resource("dynamodb", region_name="us-east-1").create_table(
            TableName="bench-banks",
            KeySchema=[
                {"AttributeName": "bank", "KeyType": "HASH"},
                {"AttributeName": "entry_id", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "bank", "AttributeType": "S"},
                {"AttributeName": "entry_id", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        table.put_item(Item={"bank": "b", "entry_id": "#bank", "action": "reject", "enabled": True})
        items = _random_entries(n, np.random.default_rng(7))
        banks.add_entries(table, "b", items)
        started = time.perf_counter()
        (bank,) = banks.load_banks(table)
        took = (time.perf_counter() - started) * 1000
    return {"entries": bank.size, "load_ms": round(took, 1)}


def client_load(n: int) -> dict[str, Any]:
    """The analyzer's own work to load `n` entries from DynamoDB, without the network: the
    Scan pages as DynamoDB would send them (the load's projected attributes, 1 MB a
    page), through the load's own path (`banks._keep_items_raw` on each page, botocore
    parsing what it leaves, `banks.banks_from_raw`), and, for comparison, botocore
    parsing and deserializing whole pages as a plain Table.scan would. Load on AWS is
    this plus the pages' round trips (4 segments in parallel)."""
    import json as jsonlib

    import botocore.session
    from boto3.dynamodb.types import TypeDeserializer
    from botocore.parsers import create_parser

    from common import banks

    wanted = set(banks.LOAD_ATTRIBUTES)
    items = [
        {
            k: {"BOOL": v} if isinstance(v, bool) else {"S": str(v)}
            for k, v in e.items()
            if k in wanted
        }
        | {"bank": {"S": "b"}}
        for e in _random_entries(n, np.random.default_rng(9))
    ]
    items.append(
        {"bank": {"S": "b"}, "entry_id": {"S": banks.BANK_ITEM}, "action": {"S": "reject"}}
    )
    per_page = max(1, 1_000_000 // len(jsonlib.dumps(items[0])))
    pages = [
        jsonlib.dumps(
            {"Items": items[i : i + per_page], "Count": len(items[i : i + per_page])}
        ).encode()
        for i in range(0, len(items), per_page)
    ]
    shape = botocore.session.get_session().get_service_model("dynamodb")
    output = shape.operation_model("Scan").output_shape
    parser = create_parser("json")

    started = time.perf_counter()
    raw: list[dict[str, Any]] = []
    banks._raw_wanted.on = True
    try:
        for body in pages:
            response = {"body": body, "headers": {}, "status_code": 200}
            kept: dict[str, Any] = {}
            banks._keep_items_raw(response, kept)
            parser.parse(response, output)
            raw.extend(kept[banks.RAW_ITEMS])
    finally:
        banks._raw_wanted.on = False
    read_at = time.perf_counter()
    (bank,) = banks.banks_from_raw(raw)
    built_at = time.perf_counter()
    assert bank.size == n

    plain_started = time.perf_counter()
    parsed = [parser.parse({"body": p, "headers": {}, "status_code": 200}, output) for p in pages]
    deserializer = TypeDeserializer()
    for page in parsed:
        for item in page["Items"]:
            {k: deserializer.deserialize(v) for k, v in item.items()}
    plain_ms = (time.perf_counter() - plain_started) * 1000
    return {
        "entries": n,
        "pages": len(pages),
        "read_pages_ms": round((read_at - started) * 1000, 1),
        "arrays_ms": round((built_at - read_at) * 1000, 1),
        "total_ms": round((built_at - started) * 1000, 1),
        "botocore_parse_and_deserialize_ms": round(plain_ms, 1),
    }


def run(scenes: int, lookups: int, sizes: list[int], moto_entries: int) -> dict[str, Any]:
    pictures = list(hash_corpus.package_pictures())
    pictures += [(n, img) for n, img in hash_corpus.generated() if n not in DERIVED]
    pictures += [(f"scene{s}", hash_corpus.scene(s)) for s in range(1000, 1000 + scenes)]
    result: dict[str, Any] = {"goals": GOALS, "distances": DISTANCES}
    result["recall"] = recall(pictures)
    result["scale"] = scale(sizes, lookups)
    result["load"] = {
        "build_100k_from_items_ms": result["scale"].get("100000", {}).get("build_from_items_ms"),
        "moto_scan": moto_load(moto_entries),
        "client": client_load(max(sizes)),
    }
    r = result["recall"]
    biggest = result["scale"][str(max(sizes))]
    result["meets_goals"] = {
        mode: r["transforms_meeting_recall"][mode] >= GOALS["transforms_meeting_recall"]
        and r["false_matches"][mode] == GOALS["false_matches"]
        for mode in MODES
    } | {
        "lookup_p95": biggest["lookup_ms_p95"] < GOALS["p95_ms"],
        "load_under_1s": result["load"]["client"]["total_ms"] < 1000,
    }
    result["machine"] = describe()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="12 scenes, 10k entries only")
    args = parser.parse_args()
    if args.quick:
        result = run(12, 50, [10_000], 2_000)
    else:
        result = run(args.scenes, args.lookups, [10_000, 100_000], 10_000)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
