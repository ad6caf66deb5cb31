"""Undo the tricks that hide a link or a contact from the text rules, before they run.

Spam images write `bigwin dot example`, `bigwin[.]example`, `b i g w i n . e x a m p l e`,
`bіgwіn.ехаmple` (Cyrillic letters), `ｂｉｇｗｉｎ．ｅｘａｍｐｌｅ`, `bigwin.c0m`, `name [at] host`
or `five five five zero one zero zero`, so that a reader sees a link or a number and a
pattern does not. `normalize` rewrites one line into what the reader sees and names
the tricks it undid; `categorize_read` runs the link and contact rules
(`text_categories`) over the recognised lines as read, then over their normalised
forms (and over neighbouring lines joined where a domain was split between them),
and adds what only the normalised text shows, with the line as read and the tricks.

False positives are kept down by rewriting only where the result is a host name that
ends in a known TLD: "polka dot dress", "the dot com era", "meet at noon" or
"the end . Info" stay as they are. Bracketed forms (`[.]`, `(dot)`, `{at}`) are
always rewritten: nobody brackets a dot by accident.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from common.models.text_categories import BlockedTerms, categorize, is_tld

# Names of the tricks, as a moderator reads them in the evidence.
BRACKETED = "bracketed dot or at"
SPELLED_DOT = "spelled-out dot"
SPACED_DOT = "spaced dot"
SPELLED_AT = "spelled-out at"
LETTER_SPACING = "letter-spacing"
LOOKALIKES = "look-alike letters"
STYLED = "full-width or styled characters"
INVISIBLE = "invisible characters"
DIGIT_FOR_LETTER = "digit for letter"
SPELLED_DIGITS = "spelled-out digits"
SPLIT_LINES = "split over lines"

LINK_CATEGORIES = ("spam_link", "contact_info")

# Cyrillic, Greek and other letters drawn like Latin ones (Unicode confusables that
# matter in host names). Applied only to a word whose letters are all Latin or
# look-alikes, so Russian or Greek text stays what it is.
_LOOKALIKE = dict(
    zip(
        "аеорсуххіјѕԁɡӏһԛԝвкмнтАВЕКМНОРСТУХІЈЅԜαβεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧıℓ",
        "aeopcyxxijsdglhqwbkmhtABEKMHOPCTYXIJSWabeikvoptuxABEZHIKMNOPTYXil",
        strict=True,
    )
)
_LATIN_OR_LOOKALIKE = re.compile(r"[A-Za-z0-9" + "".join(_LOOKALIKE) + r"]")
# Written dots that are not ".": middle dots, bullets, ideographic full stops.
_DOT_SYMBOLS = str.maketrans(dict.fromkeys("·•∙⋅・。｡︒", "."))
# "dot" in words, English and a few other languages (the Latin-script ones as OCR reads
# them; `d0t` is the digit-for-letter spelling).
_DOT_WORD = r"(?:dot|d0t|punkt|punto|ponto|nokta|titik|точка|點|点)"
_AT_WORD = r"(?:at|@|arroba|chez|собака)"
_BRACKETED_DOT = re.compile(r"\s*[\[({<]\s*(?:\.|" + _DOT_WORD + r"|point)\s*[\])}>]\s*", re.I)
_BRACKETED_AT = re.compile(r"\s*[\[({<]\s*" + _AT_WORD + r"\s*[\])}>]\s*", re.I)
# "@" with spaces around it between a name and a host: "name @ host.com".
_SPACED_AT = re.compile(r"(?<=[\w.+-])\s+@\s*(?=\w)|(?<=[\w.+-])@\s+(?=\w)")
# Single characters separated by one to three spaces, at least three of them.
_SPACED_LETTERS = re.compile(r"(?<!\S)\S(?: {1,3}\S){2,}(?!\S)")
# Digits in groups of one or two, spaced, that make at least six digits ("55 5 - 01 0 0").
_SPACED_DIGITS = re.compile(r"(?<![\w+])\d{1,2}(?:\s{1,3}[-.]?\s{0,3}\d{1,2}){3,}(?![\w])")
# A TLD after a dot broken into short pieces by spacing ("win.exam ple", "bigwin.co m").
_SPACED_TLD = re.compile(r"(?<=\w)\.((?:[a-z]{1,5} ){1,3}[a-z]{1,5})(?![\w.])", re.I)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# Brackets with nothing inside: OCR lost the dot of "[.]".
_EMPTY_BRACKETS = r"\s*(?:\[\s*\]|\(\s*\)|\{\s*\})\s*"
_SEPARATOR = r"(?:\s+\.\s*|\.|\s+" + _DOT_WORD + r"\s+|" + _EMPTY_BRACKETS + ")"
_HOST_RUN = re.compile(
    rf"(?<![\w.@-]){_LABEL}(?:{_SEPARATOR}{_LABEL})+(?![\w-])(/[^\s<>\"']*)?", re.I
)
_SPELLED_AT_RUN = re.compile(
    r"(?<![\w.@+-])([\w.+-]+)\s+"
    + _AT_WORD
    + r"\s+("
    + _LABEL
    + r"(?:\."
    + _LABEL
    + r")+)(?![\w-])",
    re.I,
)
_NUMBER_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_NUMBER_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_NUMBER_RUN = re.compile(
    rf"(?<![\w-])(?:{_NUMBER_WORD}|\d+)(?:[\s,-]+(?:{_NUMBER_WORD}|\d+)){{3,}}(?![\w-])", re.I
)
# Words that precede "dot" or "at" in ordinary sentences; a host or a mailbox is
# never one of them ("the dot com era", "polka dot com...", "meet us at home.com").
_STOPWORDS = frozenset(
    """
a an the this that these those my your his her its our their one no each every per
and or of to in on at by for from with as is are was be it we you they he she i me us
him them here there now then polka red blue green black white yellow pink small big
little tiny single final last first next connect join shop visit find buy order see
online live only sale today available stores""".split()
)
# A dot with spaces around it ("bigwin . com") joins labels only before a TLD that is
# not also an English word ("the end . Info below" is a sentence).
_SPACED_DOT_TLDS = frozenset(
    "com net org biz xyz edu gov icu ru cn uk de fr br pl io co example".split()
)
# Digits drawn like letters, undone only in a TLD ("bigwin.c0m").
_TLD_DIGITS = str.maketrans("013457", "oleast")


@dataclass(frozen=True)
class Normalized:
    text: str
    tricks: tuple[str, ...]


def normalize(line: str) -> Normalized:
    """One recognised line as a reader sees it, with the tricks that were undone."""
    tricks: list[str] = []

    def step(name: str, before: str, after: str) -> str:
        if after != before and name not in tricks:
            tricks.append(name)
        return after

    text = step(INVISIBLE, line, "".join(c for c in line if unicodedata.category(c) != "Cf"))
    text = step(STYLED, text, unicodedata.normalize("NFKC", text).translate(_DOT_SYMBOLS))
    text = step(LOOKALIKES, text, re.sub(r"\S+", _unconfuse_word, text))
    text = step(BRACKETED, text, _BRACKETED_DOT.sub(".", text))
    text = step(BRACKETED, text, _BRACKETED_AT.sub("@", text))
    text = step(SPELLED_AT, text, _SPACED_AT.sub("@", text))
    text = step(LETTER_SPACING, text, _SPACED_LETTERS.sub(_join_letters, text))
    text = step(LETTER_SPACING, text, _SPACED_DIGITS.sub(_join_digits, text))
    text = step(SPELLED_DIGITS, text, _NUMBER_RUN.sub(_number_words, text))
    text = step(LETTER_SPACING, text, _SPACED_TLD.sub(_join_tld, text))
    hosts = _rewrite_hosts(text)
    for trick in hosts.tricks:
        text = step(trick, text, hosts.text)
    text = step(SPELLED_AT, text, _SPELLED_AT_RUN.sub(_spelled_at, text))
    return Normalized(text, tuple(tricks))


def categorize_read(
    lines: Sequence[str], blocked: BlockedTerms | None = None
) -> dict[str, list[dict[str, Any]]]:
    """`text_categories.categorize` over the lines as read, plus the links and contacts
    only their normalised forms show: those carry `read` (the line as recognised) and
    `tricks` (what was undone), and point at the line they were read on."""
    found = categorize(lines, blocked)
    seen = {cat: {_canonical(e["text"]) for e in found[cat]} for cat in LINK_CATEGORIES}

    def add(
        extra: dict[str, list[dict[str, Any]]], line: int, read: str, tricks: tuple[str, ...]
    ) -> None:
        for category in LINK_CATEGORIES:
            for evidence in extra[category]:
                key = _canonical(evidence["text"])
                if key in seen[category]:
                    continue
                seen[category].add(key)
                found[category].append(
                    {**evidence, "line": line, "read": read[:120], "tricks": list(tricks)}
                )

    for i, line in enumerate(lines):
        norm = normalize(line)
        if norm.text != line:
            add(categorize([norm.text]), i, line, norm.tricks)
    for i, joined in _split_hosts(lines):
        norm = normalize(joined)
        add(categorize([norm.text]), i, f"{lines[i]} / {lines[i + 1]}", (*norm.tricks, SPLIT_LINES))
    return found


# --- steps ------------------------------------------------------------------------------


def _unconfuse_word(m: re.Match[str]) -> str:
    word = m.group(0)
    letters = [c for c in word if c.isalpha()]
    if not any(c in _LOOKALIKE for c in letters):
        return word
    if not all(_LATIN_OR_LOOKALIKE.match(c) for c in letters):
        return word  # a word of another script that merely shares some letters
    return "".join(_LOOKALIKE.get(c, c) for c in word)


def _join_letters(m: re.Match[str]) -> str:
    return m.group(0).replace(" ", "")


def _join_digits(m: re.Match[str]) -> str:
    joined = re.sub(r"\s+", "", m.group(0))
    return joined if sum(c.isdigit() for c in joined) >= 6 else m.group(0)


def _join_tld(m: re.Match[str]) -> str:
    joined = m.group(1).replace(" ", "")
    return "." + joined if is_tld(joined) and len(joined) >= 3 else m.group(0)


def _number_words(m: re.Match[str]) -> str:
    parts = re.split(r"[\s,-]+", m.group(0))
    words = sum(1 for p in parts if not p.isdigit())
    if words < 3 or parts[0].lower() == "oh":
        return m.group(0)
    return "".join(_NUMBER_WORDS.get(p.lower(), p) for p in parts)


def _rewrite_hosts(text: str) -> Normalized:
    """Host names written with spelled-out or spaced dots, or digits in the TLD, as a
    host name; only when the last label is a known TLD and the first is not a word
    that ordinarily comes before "dot"."""
    tricks: list[str] = []

    def host(m: re.Match[str]) -> str:
        path = m.group(1) or ""
        run = m.group(0)[: len(m.group(0)) - len(path)]
        labels = re.split(_SEPARATOR, run, flags=re.I)
        seps = re.findall(_SEPARATOR, run, flags=re.I)
        emptied = any(re.fullmatch(_EMPTY_BRACKETS, s) for s in seps)
        spelled = any(
            s.strip() not in (".", "") and not re.fullmatch(_EMPTY_BRACKETS, s) for s in seps
        )
        spaced = any(s != "." and s.strip() == "." for s in seps)
        tld = labels[-1]
        fixed_tld = tld.lower().translate(_TLD_DIGITS)
        digit_swap = fixed_tld != tld.lower() and any(c.isalpha() for c in tld)
        if not (spelled or spaced or digit_swap or emptied):
            return m.group(0)
        if not is_tld(fixed_tld, with_path=len(path) > 1):
            return m.group(0)
        if digit_swap and not is_tld(tld) and not fixed_tld.isalpha():
            return m.group(0)
        if (spelled or spaced) and labels[0].lower() in _STOPWORDS:
            return m.group(0)
        if spaced and not spelled and fixed_tld not in _SPACED_DOT_TLDS:
            return m.group(0)
        if spelled:
            tricks.append(SPELLED_DOT)
        if emptied:
            tricks.append(BRACKETED)
        if spaced:
            tricks.append(SPACED_DOT)
        if digit_swap and not is_tld(tld):
            tricks.append(DIGIT_FOR_LETTER)
            labels[-1] = fixed_tld
        return ".".join(labels) + path

    rewritten = _HOST_RUN.sub(host, text)
    return Normalized(rewritten, tuple(dict.fromkeys(tricks)))


def _spelled_at(m: re.Match[str]) -> str:
    name = m.group(1)
    if name.lower() in _STOPWORDS or not is_tld(m.group(2).rsplit(".", 1)[-1]):
        return m.group(0)
    if name[0].isupper() and name[1:].islower():
        return m.group(0)  # "Prizes at bigwin.com": a capitalised word is no mailbox
    return f"{name}@{m.group(2)}"


def _split_hosts(lines: Sequence[str]) -> list[tuple[int, str]]:
    """Neighbouring lines joined where a host name was broken between them: a line
    that ends in a dot, "dot", "www." or "://" followed by a line that is one host or
    TLD (with a path), or a line followed by one that starts with a dot."""
    joined = []
    for i in range(len(lines) - 1):
        first, second = lines[i].rstrip(), lines[i + 1].strip()
        if not first or not second:
            continue
        host = re.fullmatch(rf"{_LABEL}(?:(\.{_LABEL})+|(/\S*))?", second, re.I)
        if (
            re.search(r"(?:\.|\s" + _DOT_WORD + r"|www\.|://)$", first, re.I)
            and host
            and (host.group(1) or host.group(2) or second.lower() in _SPACED_DOT_TLDS)
        ):
            glue = " " if re.search(r"\s" + _DOT_WORD + "$", first, re.I) else ""
            joined.append((i, first + glue + second))
        elif second.startswith(".") and re.search(rf"{_LABEL}$", first, re.I):
            joined.append((i, first + second))
    return joined


def _canonical(text: str) -> str:
    """What two pieces of evidence share when they are the same link or contact."""
    text = normalize(text).text.lower().strip().rstrip("/.,;:")
    text = re.sub(r"^(?:https?|hxxps?|ftp)://", "", text)
    text = re.sub(r"^www\d{0,3}\.", "", text)
    digits = re.sub(r"\D", "", text)
    return digits if digits and len(digits) >= 7 and not re.search(r"[a-z]", text) else text
