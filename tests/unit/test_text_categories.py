"""The text rules on their own: what must and must not count as a link, contact or term."""

from __future__ import annotations

import json

import pytest

from common.models.text_categories import CATEGORIES, BlockedTerms, categorize, flags, parse_terms


def texts(lines, category, blocked=None):
    return [e["text"] for e in categorize(lines, blocked)[category]]


def one(line, category, blocked=None):
    return texts([line], category, blocked)


# --- links -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("http://spam.example", ["http://spam.example"]),
        ("visit https://spam.example/path?q=1.", ["https://spam.example/path?q=1"]),
        ("HTTPS://SPAM.EXAMPLE", ["HTTPS://SPAM.EXAMPLE"]),
        ("hxxp://defanged.example/x", ["hxxp://defanged.example/x"]),
        ("go to www.x.com now", ["www.x.com"]),
        ("WWW.SPAM.EXAMPLE", ["WWW.SPAM.EXAMPLE"]),
        ("spam.example", ["spam.example"]),
        ("bit.ly/abc", ["bit.ly/abc"]),
        ("(see spam.example)", ["spam.example"]),
        ("shop.spam.co.uk, today", ["shop.spam.co.uk"]),
        ("cheap-pills.xyz", ["cheap-pills.xyz"]),
        ("join t.me/channel", ["t.me/channel"]),
        ("amzn.to/3xYz", ["amzn.to/3xYz"]),
        ("host.example:8080/admin", ["host.example:8080/admin"]),
        ("bit. ly/abc", ["bit. ly/abc"]),  # OCR put a space after the dot
        ("Good. info.com", ["info.com"]),
        ("http://192.168.0.1/login", ["http://192.168.0.1/login"]),
    ],
)
def test_links_found(line, expected):
    assert one(line, "spam_link") == expected


@pytest.mark.parametrize(
    "line",
    [
        "2024",
        "version 1.2.3",
        "v2.0.1",
        "pi is 3.14",
        "$19.99",
        "10:30",
        "e.g. this, i.e. that",
        "report.pdf",
        "photo.jpg",
        "index.html",
        "main.py",
        "run.sh",
        "README.md",
        "node.js",
        "config.json",
        "U.S.A.",
        "Ph.D.",
        "St.Louis",
        "192.168.0.1",
        "sale ends.It is late",
        "I love it. Me too",
        "Good. Info at the desk",
        "see fig.3",
        "a.m. and p.m.",
        "john@spam.example",  # an e-mail, counted under contact_info instead
        "1,299.00",
        "",
    ],
)
def test_not_links(line):
    assert one(line, "spam_link") == []


# --- contact info ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("call 555-0100 buy now", ["555-0100"]),
        ("+1 (555) 010-0100", ["+1 (555) 010-0100"]),
        ("+1(555)010-0100", ["+1(555)010-0100"]),
        ("(555) 010-0100", ["(555) 010-0100"]),
        ("555-010-0100", ["555-010-0100"]),
        ("555.010.0100", ["555.010.0100"]),
        ("555 010 0100", ["555 010 0100"]),
        ("1-800-555-0100", ["1-800-555-0100"]),
        ("+44 20 7946 0958", ["+44 20 7946 0958"]),
        ("020 7946 0958", ["020 7946 0958"]),
        ("0800-123-4567", ["0800-123-4567"]),
        ("+49 30 901820", ["+49 30 901820"]),
        ("+15550100100", ["+15550100100"]),
        ("Tel:555-0100", ["555-0100"]),
        ("Call us at 555 0100", ["555 0100"]),
        ("WhatsApp 5550100100", ["5550100100"]),
        ("room 12 555-0100", ["555-0100"]),
        ("555-0100 or 555-0199.", ["555-0100", "555-0199"]),
        ("call 555-O1OO", ["555-O1OO"]),  # OCR read zeros as letters
        ("(555) 0l0-0100", ["(555) 0l0-0100"]),
        ("mail john@spam.example", ["john@spam.example"]),
        ("First.Last+tag@mail.spam.example!", ["First.Last+tag@mail.spam.example"]),
        ("john [at] spam [dot] com", ["john [at] spam [dot] com"]),
        ("john(at)spam.example", ["john(at)spam.example"]),
    ],
)
def test_contacts_found(line, expected):
    assert one(line, "contact_info") == expected


@pytest.mark.parametrize(
    "line",
    [
        "2024",
        "in 2024 and 2025",
        "$19.99",
        "€5.550,00",
        "19.99 USD",
        "10:30",
        "10:30-11:45",
        "open 9-5",
        "1.2.3",
        "v10.0.19041",
        "192.168.0.1",
        "2024-01-15",
        "15.01.2024",
        "01/15/2024",
        "12-05-2024",
        "1990-2000",
        "1 000 000",
        "1,000,000",
        "score 3-2",
        "4111 1111 1111 1111",
        "ISBN 978-3-16-148410-0",
        "order #5550100100",
        "90210",
        "90210-1234",
        "12-345-6789",
        "0.5 1.5 2.5",
        "3.14159",
        "call 2024",
        "page 12",
        "SKU5550100",
        "1920x1080",
        "100%",
        "+1.2.3",
        "O2 arena",
        "Room 1O1",
        "",
    ],
)
def test_not_contacts(line):
    assert one(line, "contact_info") == []


def test_url_digits_are_not_phone_numbers():
    result = categorize(["http://spam.example/555-0100"])
    assert [e["text"] for e in result["spam_link"]] == ["http://spam.example/555-0100"]
    assert result["contact_info"] == []


def test_url_with_an_at_sign_is_a_link():
    result = categorize(["http://user@spam.example/x?to=a@b.com"])
    assert [e["text"] for e in result["spam_link"]] == ["http://user@spam.example/x?to=a@b.com"]
    assert result["contact_info"] == []


def test_email_domain_is_not_also_a_link():
    result = categorize(["write to sales@spam.example"])
    assert result["spam_link"] == []
    assert [e["kind"] for e in result["contact_info"]] == ["email"]


def test_phone_number_does_not_span_lines():
    assert texts(["555", "0100"], "contact_info") == []


# --- blocked terms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "buy now",
        "BUY  NOW",
        "buynow",
        "Buy-Now!",
        "b u y n o w",
        "BUY N0W",
        "8uy now!!!".replace("8", "b"),
        "buy\u200bnow",
        "ＢＵＹ ＮＯＷ",
        "búy nów",
        "Buy. Now.",
        "BUY NOW, limited",
    ],
)
def test_blocked_term_variants_match(line):
    assert one(line, "blocked_terms", BlockedTerms(["buy now"])) != []


@pytest.mark.parametrize(
    "line", ["buy snow", "buying now", "ebuy now", "buy nowhere", "buy", "now"]
)
def test_blocked_term_needs_word_boundaries(line):
    assert one(line, "blocked_terms", BlockedTerms(["buy now"])) == []


def test_word_boundary_avoids_substrings():
    blocked = BlockedTerms(["sex"])
    assert one("Essex and Middlesex", "blocked_terms", blocked) == []
    assert one("SEX", "blocked_terms", blocked) == ["SEX"]
    assert one("s3x!", "blocked_terms", blocked) == ["s3x"]


def test_wildcard_lifts_the_boundary():
    blocked = BlockedTerms(["*money"])
    assert one("easymoney", "blocked_terms", blocked) == ["money"]
    assert one("moneyback", "blocked_terms", BlockedTerms(["money"])) == []


def test_leet_and_lookalikes():
    blocked = BlockedTerms(["free cash"])
    for line in ("FR33 CA$H", "fr€e c@sh", "frее саsh"):  # the last uses Cyrillic е, а
        assert one(line, "blocked_terms", blocked) != [], line


def test_term_spanning_two_lines():
    result = categorize(["BUY", "NOW"], BlockedTerms(["buy now"]))
    assert result["blocked_terms"] == [
        {"kind": "term", "text": "BUY\nNOW", "line": 0, "term": "buy now"}
    ]


def test_evidence_reports_line_and_term():
    result = categorize(["hello", "limited offer: Buy Now"], BlockedTerms(["buy now", "offer"]))
    assert result["blocked_terms"] == [
        {"kind": "term", "text": "offer", "line": 1, "term": "offer"},
        {"kind": "term", "text": "Buy Now", "line": 1, "term": "buy now"},
    ]


def test_parse_terms_and_bad_terms():
    assert bool(parse_terms("buy now, free money\nclick here,,"))
    assert not BlockedTerms(["", "  "])
    with pytest.raises(ValueError):
        BlockedTerms(["-- ..."])


def test_no_terms_configured():
    assert categorize(["buy now"])["blocked_terms"] == []


# --- whole result ----------------------------------------------------------------------


def test_result_shape_and_flags():
    lines = ["call 555-0100 buy now", "http://spam.example"]
    result = categorize(lines, BlockedTerms(["buy now"]))
    assert list(result) == list(CATEGORIES)
    json.dumps(result)  # JSON-serialisable as it goes into the job record
    assert flags(result) == ["spam_link", "contact_info", "blocked_terms"]
    assert result["spam_link"] == [{"kind": "url", "text": "http://spam.example", "line": 1}]
    assert result["contact_info"] == [{"kind": "phone", "text": "555-0100", "line": 0}]
    clean = categorize(["Grace Hopper, 1984", "Version 1.2.3 at 10:30, $19.99"])
    assert flags(clean) == []
    assert categorize([]) == {c: [] for c in CATEGORIES}
