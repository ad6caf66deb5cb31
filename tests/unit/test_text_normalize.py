"""The normaliser on its own: which tricks it undoes, and which ordinary text it leaves alone."""

from __future__ import annotations

import pytest

from common import text_normalize as tn
from common.models.text_categories import BlockedTerms


def links(lines):
    return [e["text"] for e in tn.categorize_read(lines)["spam_link"]]


def contacts(lines):
    return [e["text"] for e in tn.categorize_read(lines)["contact_info"]]


@pytest.mark.parametrize(
    ("line", "expected", "trick"),
    [
        ("Visit bigwin dot example today", "Visit bigwin.example today", tn.SPELLED_DOT),
        ("bigwin DOT com", "bigwin.com", tn.SPELLED_DOT),
        ("bigwin d0t com", "bigwin.com", tn.SPELLED_DOT),
        ("www dot bigwin dot com/promo", "www.bigwin.com/promo", tn.SPELLED_DOT),
        ("bigwin punkt de", "bigwin.de", tn.SPELLED_DOT),
        ("bigwin punto com", "bigwin.com", tn.SPELLED_DOT),
        ("bigwin точка ru", "bigwin.ru", tn.SPELLED_DOT),
        ("bigwin[.]example", "bigwin.example", tn.BRACKETED),
        ("bigwin (.) example", "bigwin.example", tn.BRACKETED),
        ("bigwin{.}example/promo", "bigwin.example/promo", tn.BRACKETED),
        ("bigwin [dot] example", "bigwin.example", tn.BRACKETED),
        ("bigwin (dot) example", "bigwin.example", tn.BRACKETED),
        ("bigwin <dot> example", "bigwin.example", tn.BRACKETED),
        ("bigwin(point)fr", "bigwin.fr", tn.BRACKETED),
        ("Visit bigwin[ ]example", "Visit bigwin.example", tn.BRACKETED),  # OCR lost the dot
        ("bigwin . com", "bigwin.com", tn.SPACED_DOT),
        ("bigwin · com", "bigwin.com", tn.SPACED_DOT),
        ("bigwin。com", "bigwin.com", tn.STYLED),
        ("b i g w i n . e x a m p l e", "bigwin.example", tn.LETTER_SPACING),
        ("b  i  g  w  i  n  .  c  o  m", "bigwin.com", tn.LETTER_SPACING),
        ("b i g w i n dot c o m", "bigwin.com", tn.LETTER_SPACING),
        ("w w w . b i g w i n . c o m", "www.bigwin.com", tn.LETTER_SPACING),
        ("big win.exam ple", "big win.example", tn.LETTER_SPACING),  # OCR grouped letters
        ("bіgwіn.ехаmple", "bigwin.example", tn.LOOKALIKES),  # Cyrillic і е х а
        ("ΒΙGWΙΝ.COM", "BIGWIN.COM", tn.LOOKALIKES),  # Greek capitals
        ("ｂｉｇｗｉｎ．ｅｘａｍｐｌｅ", "bigwin.example", tn.STYLED),
        ("𝐛𝐢𝐠𝐰𝐢𝐧.𝐜𝐨𝐦", "bigwin.com", tn.STYLED),
        ("ⓑⓘⓖⓦⓘⓝ.com", "bigwin.com", tn.STYLED),
        ("big\u200bwin.exa\u200dmple", "bigwin.example", tn.INVISIBLE),
        ("bigwin\u00ad.com", "bigwin.com", tn.INVISIBLE),
        ("bigwin.c0m", "bigwin.com", tn.DIGIT_FOR_LETTER),
        ("bigwin.n3t", "bigwin.net", tn.DIGIT_FOR_LETTER),
        ("name [at] bigwin [dot] example", "name@bigwin.example", tn.BRACKETED),
        ("name(at)bigwin.com", "name@bigwin.com", tn.BRACKETED),
        ("name at bigwin dot example", "name@bigwin.example", tn.SPELLED_AT),
        ("name @ bigwin.com", "name@bigwin.com", tn.SPELLED_AT),
        ("call five five five zero one zero zero", "call 5550100", tn.SPELLED_DIGITS),
        ("call 555 zero one zero zero", "call 5550100", tn.SPELLED_DIGITS),
        ("call 55 5 - 01 0 0", "call 555-0100", tn.LETTER_SPACING),
        ("call 5 5 5 0 1 0 0", "call 5550100", tn.LETTER_SPACING),
    ],
)
def test_tricks_are_undone_and_named(line, expected, trick):
    result = tn.normalize(line)
    assert result.text == expected
    assert trick in result.tricks


@pytest.mark.parametrize(
    "line",
    [
        "polka dot dress",
        "a red dot on the map",
        "the dot com era",
        "Connect the dot com dots",
        "dot the i and cross the t",
        "Meet us at noon",
        "We are at home",
        "find us at the market",
        "The end . Info below",
        "Great . Shop now",
        "version 1.2.3",
        "pi is 3.14",
        "price 12.50",
        "Привет мир, как дела",  # Russian stays Russian
        "Καλημέρα κόσμε",  # so does Greek
        "A B C D",
        "one two",
        "The big win. Example below",
        "the end.Go on now",
        "main.py and ends.it",
        "at 10 30 we meet",
        "ordinary sentence with no tricks",
    ],
)
def test_ordinary_text_yields_no_link_or_contact(line):
    found = tn.categorize_read([line])
    assert found["spam_link"] == [] and found["contact_info"] == [], found


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("the dot com era", "the dot com era"),
        ("polka dot dress", "polka dot dress"),
        ("The end . Info below", "The end . Info below"),
        ("Привет мир", "Привет мир"),
        ("Find us at bigwin dot example", "Find us at bigwin.example"),  # "us" is no mailbox
        ("Prizes at bigwin dot com", "Prizes at bigwin.com"),  # nor is a capitalised word
        ("Check [ ] the box", "Check [ ] the box"),
    ],
)
def test_ordinary_words_are_not_rewritten(line, expected):
    assert tn.normalize(line).text == expected


def test_evidence_from_normalised_text_carries_what_was_read_and_the_tricks():
    found = tn.categorize_read(["Visit bigwin dot example", "nothing here"])
    (link,) = found["spam_link"]
    assert link["text"] == "bigwin.example"
    assert link["line"] == 0
    assert link["read"] == "Visit bigwin dot example"
    assert link["tricks"] == [tn.SPELLED_DOT]


def test_a_link_found_as_read_is_not_repeated_from_the_normalised_text():
    found = tn.categorize_read(["http://bigwin.example and bigwin dot example"])
    assert [e["text"] for e in found["spam_link"]] == ["http://bigwin.example"]


def test_plain_links_keep_their_evidence_without_tricks():
    (link,) = tn.categorize_read(["spam.example"])["spam_link"]
    assert "tricks" not in link and link["text"] == "spam.example"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Visit bigwin.", "example"], ["bigwin.example"]),
        (["Visit bigwin dot", "example/promo"], ["bigwin.example/promo"]),
        (["go to www.bigwin.", "com"], ["www.bigwin", "www.bigwin.com"]),
        (["bigwin", ".example"], ["bigwin.example"]),
    ],
)
def test_host_split_over_two_lines(lines, expected):
    found = tn.categorize_read(lines)["spam_link"]
    assert [e["text"] for e in found] == expected
    assert tn.SPLIT_LINES in found[-1]["tricks"] and found[-1]["line"] == 0


@pytest.mark.parametrize(
    "lines",
    [
        ["Thanks for visiting.", "Info: open 9-5"],
        ["See you soon.", "Shop"],  # a TLD that is a word, alone on the next line
        ["The end.", "Best wishes"],
    ],
)
def test_sentences_over_two_lines_are_not_joined_into_links(lines):
    assert links(lines) == []


def test_contacts_through_the_tricks():
    assert contacts(["mail name [at] bigwin [dot] example"]) == ["name [at] bigwin [dot] example"]
    assert contacts(["name at bigwin dot example"]) == ["name@bigwin.example"]
    assert contacts(["call five five five zero one zero zero"]) == ["5550100"]
    assert contacts(["whatsapp 5 5 5 - 0 1 0 0"]) == ["555-0100"]


def test_blocked_terms_still_come_from_the_text_as_read():
    found = tn.categorize_read(["buy now at bigwin dot example"], BlockedTerms(["buy now"]))
    assert [e["term"] for e in found["blocked_terms"]] == ["buy now"]
    assert links(["buy now at bigwin dot example"]) == ["bigwin.example"]


def test_digit_swaps_only_in_a_tld():
    assert tn.normalize("version 1.0").text == "version 1.0"
    assert tn.normalize("r2.d2").text == "r2.d2"
    assert tn.normalize("g00gle.com").text == "g00gle.com"  # a valid host as it is
