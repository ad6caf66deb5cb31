"""Hash banks on in-process moto: the `/banks` API's routes and groups, CSV round trip,
the analyzer's 30 s cache, hit counting and quarantine."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws

from common import bank_index, banks, banks_api, pdq
from common.images import dhash
from local.tools import hash_corpus, safe_images
from tests.support.inprocess import api_event

MODS, OPS = "moderators", "operators"
PHOTO = safe_images.grace_hopper()
NOW = 1_800_000_000.0


@pytest.fixture
def table():
    with mock_aws():
        ddb = boto3.resource("dynamodb", region_name="us-east-1")
        yield ddb.create_table(
            TableName="t-banks",
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


def png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def call(table, method, path, route, group=OPS, body=None, params=None, query=None, jobs=None):
    event = api_event(
        method,
        path,
        user="u-1",
        body=json.dumps(body) if isinstance(body, dict) else body,
        claims={"cognito:groups": f"[{group}]"} if group else None,
        route_key=route,
        path_params=params,
        query=query,
    )
    ctx = banks_api.Context(
        table=table,
        moderator_group=MODS,
        operator_group=OPS,
        now=NOW,
        job_hashes=lambda job_id: (jobs or {}).get(job_id),
    )
    response = banks_api.handle(event, ctx)
    ctype = response["headers"]["content-type"]
    parsed = json.loads(response["body"]) if ctype == "application/json" else response["body"]
    return response["statusCode"], parsed


def make_bank(table, name="bad", action="reject", **extra):
    return call(
        table,
        "PUT",
        f"/banks/{name}",
        "PUT /banks/{bank}",
        body={"action": action, **extra},
        params={"bank": name},
    )


def add(table, name, body, group=MODS, jobs=None):
    return call(
        table,
        "POST",
        f"/banks/{name}/entries",
        "POST /banks/{bank}/entries",
        group=group,
        body=body,
        params={"bank": name},
        jobs=jobs,
    )


def test_operators_manage_banks_and_moderators_add_entries(table):
    status, bank = make_bank(table, max_distance={"pdq": 20})
    assert status == 200 and bank["max_distance"] == {"pdq": 20, "dhash": 8}
    assert make_bank(table, name="x")[0] == 200
    # A moderator may not create or change a bank ...
    status, body = call(
        table,
        "PUT",
        "/banks/y",
        "PUT /banks/{bank}",
        group=MODS,
        body={"action": "reject"},
        params={"bank": "y"},
    )
    assert (status, body["error"]) == (403, "forbidden")
    # ... but may add an entry, by hash or from a job's stored image.
    h = pdq.hash_image(PHOTO).hash
    status, entry = add(table, "bad", {"pdq": h.upper(), "reason": "seen before"})
    assert status == 201 and entry["pdq"] == h and entry["added_by"] == "u-1"
    assert entry["source"] == "api" and entry["hits"] == 0
    hashes = banks.hashes_of_image(png(PHOTO))
    status, entry = add(table, "bad", {"job_id": "j-1"}, jobs={"j-1": hashes})
    assert status == 201 and entry["source"] == "job:j-1" and entry["dhash"] == dhash(PHOTO)
    assert add(table, "bad", {"job_id": "gone"})[0] == 404
    # A user in neither group sees nothing.
    status, body = call(table, "GET", "/banks", "GET /banks", group="users")
    assert (status, body["error"]) == (403, "forbidden")
    status, body = call(table, "GET", "/banks", "GET /banks", group=MODS)
    assert status == 200 and [(b["bank"], b["entries"]) for b in body["banks"]] == [
        ("bad", 2),
        ("x", 0),
    ]


@pytest.mark.parametrize(
    "body,error",
    [
        ({"action": "delete"}, "invalid_action"),
        ({"action": "reject", "max_distance": 99}, "invalid_max_distance"),
        ({"action": "reject", "max_distance": {"md5": 1}}, "invalid_max_distance"),
        ({"action": "reject", "enabled": "yes"}, "invalid_enabled"),
    ],
)
def test_bad_bank_settings_are_400(table, body, error):
    status, answer = call(
        table, "PUT", "/banks/b", "PUT /banks/{bank}", body=body, params={"bank": "b"}
    )
    assert (status, answer["error"]) == (400, error)


@pytest.mark.parametrize(
    "body,status,error",
    [
        ({"pdq": "abc"}, 400, "invalid_hash"),
        ({"dhash": "z" * 16}, 400, "invalid_hash"),
        ({}, 400, "missing_hash"),
        ({"pdq": "0" * 64, "reason": "x" * 501}, 400, "invalid_reason"),
    ],
)
def test_bad_entries_are_refused(table, body, status, error):
    make_bank(table)
    got, answer = add(table, "bad", body)
    assert (got, answer["error"]) == (status, error)


def test_entries_page_and_delete(table):
    make_bank(table)
    ids = [add(table, "bad", {"dhash": f"{i:016x}"})[1]["entry_id"] for i in range(5)]
    route = "GET /banks/{bank}/entries"
    seen, after = [], None
    while True:
        query = {"limit": "2", **({"after": after} if after else {})}
        status, page = call(
            table,
            "GET",
            "/banks/bad/entries",
            route,
            group=MODS,
            params={"bank": "bad"},
            query=query,
        )
        assert status == 200 and len(page["entries"]) <= 2
        seen += [e["entry_id"] for e in page["entries"]]
        after = page["after"]
        if after is None:
            break
    assert sorted(seen) == sorted(ids)
    delete = "DELETE /banks/{bank}/entries/{entry_id}"
    params = {"bank": "bad", "entry_id": ids[0]}
    assert call(table, "DELETE", "/x", delete, group=MODS, params=params)[0] == 403
    assert call(table, "DELETE", "/x", delete, params=params)[0] == 200
    assert call(table, "DELETE", "/x", delete, params=params)[0] == 404
    assert call(table, "GET", "/x", route, params={"bank": "nope"})[0] == 404


def test_an_exported_list_imports_into_itself_and_matches(table):
    make_bank(table, name="src")
    pictures = [hash_corpus.scene(s) for s in range(3)] + [PHOTO]
    for img in pictures:
        add(table, "src", {"pdq": pdq.hash_image(img).hash, "dhash": dhash(img)})
    status, text = call(table, "GET", "/x", "GET /banks/{bank}/export", params={"bank": "src"})
    assert status == 200
    rows = [line.split(",") for line in text.strip().splitlines()]
    # HMA's layout: hash, indicator id, first descriptor id, added on, labels.
    assert len(rows) == 4 and all(len(r) == 5 and pdq.is_hash(r[0]) for r in rows)
    make_bank(table, name="dst")
    status, body = call(
        table,
        "POST",
        "/x",
        "POST /banks/{bank}/import",
        body=text,
        params={"bank": "dst"},
        query={"source": "partner"},
    )
    assert (status, body) == (200, {"imported": 4})
    call(
        table,
        "PUT",
        "/banks/src",
        "PUT /banks/{bank}",
        body={"action": "reject", "enabled": False},
        params={"bank": "src"},
    )
    loaded = banks.load_banks(table)
    assert [b.name for b in loaded] == ["dst"] and loaded[0].size == 4
    flipped = PHOTO.transpose(0)  # FLIP_LEFT_RIGHT
    (m,) = bank_index.match(loaded, bank_index.query_of(flipped))
    assert m["bank"] == "dst" and m["hash_type"] == "pdq"
    status, again = call(table, "GET", "/x", "GET /banks/{bank}/export", params={"bank": "dst"})
    assert sorted(r.split(",")[0] for r in again.split()) == sorted(r[0] for r in rows)


def test_a_bare_hash_list_imports_and_bad_rows_are_named(table):
    make_bank(table)
    h = pdq.hash_image(PHOTO).hash
    route = "POST /banks/{bank}/import"
    status, body = call(table, "POST", "/x", route, body=f"{h}\n", params={"bank": "bad"})
    assert (status, body) == (200, {"imported": 1})
    status, body = call(
        table, "POST", "/x", route, body=f"{h}\nnot-a-hash\n", params={"bank": "bad"}
    )
    assert status == 400 and body["error"] == "invalid_csv" and "row 2" in body["message"]
    status, body = call(table, "POST", "/x", route, body="", params={"bank": "bad"})
    assert (status, body["error"]) == (400, "empty_csv")


def test_a_change_applies_after_the_cache_expires(table):
    clock = [NOW]
    cache = banks.BankCache(table, clock=lambda: clock[0])
    assert cache.get() == []
    make_bank(table)
    add(table, "bad", {"pdq": pdq.hash_image(PHOTO).hash})
    clock[0] += 29
    assert cache.get() == []
    clock[0] += 1
    assert [b.name for b in cache.get()] == ["bad"]


def test_an_entry_matching_far_above_its_rate_is_quarantined_until_re_enabled(table):
    make_bank(table)
    _, entry = add(table, "bad", {"pdq": pdq.hash_image(PHOTO).hash})
    entry_id = entry["entry_id"]
    # Its usual rate: a few hits over the first day.
    for hour in range(0, 24, 6):
        assert not banks.record_hit(table, "bad", entry_id, NOW + hour * 3600)
    later = NOW + 30 * 3600
    flagged = [banks.record_hit(table, "bad", entry_id, later + i) for i in range(25)]
    assert flagged.count(True) == 1 and flagged.index(True) == banks.QUARANTINE_MIN_HITS - 1
    assert banks.load_banks(table)[0].size == 0
    status, body = call(table, "GET", "/banks", "GET /banks")
    assert body["banks"][0]["quarantined"] == [entry_id]
    status, _ = call(
        table,
        "PUT",
        "/banks/bad",
        "PUT /banks/{bank}",
        body={"entry_id": entry_id, "enabled": True},
        params={"bank": "bad"},
    )
    assert status == 200 and banks.load_banks(table)[0].size == 1
    assert call(table, "GET", "/banks", "GET /banks")[1]["banks"][0]["quarantined"] == []


def test_a_steady_entry_is_not_quarantined(table):
    make_bank(table)
    _, entry = add(table, "bad", {"dhash": "0f0f0f0f0f0f0f0f"})
    for i in range(40):
        banks.record_hit(table, "bad", entry["entry_id"], NOW + i * 3600)
    assert banks.load_banks(table)[0].size == 1


def test_keys_dynamodb_would_refuse_are_4xx_not_5xx(table):
    make_bank(table)
    long = "x" * 2000
    status, body = call(table, "GET", "/x", "GET /banks/{bank}/entries", params={"bank": long})
    assert (status, body["error"]) == (400, "invalid_bank")
    status, body = call(
        table,
        "GET",
        "/x",
        "GET /banks/{bank}/entries",
        params={"bank": "bad"},
        query={"after": long},
    )
    assert (status, body["error"]) == (400, "invalid_after")
    delete = "DELETE /banks/{bank}/entries/{entry_id}"
    assert call(table, "DELETE", "/x", delete, params={"bank": "bad", "entry_id": long})[0] == 404


def test_the_load_reads_raw_pages_and_builds_what_a_plain_scan_would(table):
    """The load's Scans keep their items as DynamoDB JSON (a botocore hook, for speed);
    the banks are those the plain items give, and other Scans on the client are as ever."""
    banks.put_bank(table, banks.parse_settings("bad", {"action": "reject"}), "op", NOW)
    banks.put_bank(table, banks.parse_settings("ok", {"action": "allow"}), "op", NOW)
    banks.put_bank(
        table, banks.parse_settings("off", {"action": "reject", "enabled": False}), "op", NOW
    )
    hashes = [f"{i:064x}" for i in range(1, 40)]
    entries = [banks.new_entry({"pdq": h, "dhash": h[-16:]}, "op", None, "t", NOW) for h in hashes]
    banks.add_entries(table, "bad", entries[:30])
    banks.add_entries(table, "ok", entries[30:35])
    banks.add_entries(table, "off", entries[35:])
    banks.set_entry_enabled(table, "bad", entries[0]["entry_id"], False, "op")
    # A damaged item (not through the API): skipped, not fatal to the load.
    table.put_item(Item={"bank": "bad", "entry_id": "zz", "pdq": "not hex" * 9 + "x"})

    loaded = {b.name: b for b in banks.load_banks(table)}
    assert sorted(loaded) == ["bad", "ok"]
    bad = loaded["bad"]
    assert sorted(bad.pdq_ids) == sorted(e["entry_id"] for e in entries[1:30])
    expected = {e["entry_id"]: pdq.words(e["pdq"]) for e in entries[1:30]}
    for entry_id, row in zip(bad.pdq_ids, bad.pdq_words, strict=True):
        assert (row == expected[entry_id]).all()
    assert len(bad.dhash_words) == 29 and loaded["ok"].size == 5
    # The hook is for the load's own Scans: a plain Scan on the same client is unchanged.
    page = table.scan(Limit=5)
    assert banks.RAW_ITEMS not in page and isinstance(page["Items"][0]["bank"], str)
