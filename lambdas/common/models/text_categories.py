"""What recognised text says about an image: links, contact details, blocked terms.

Pure functions over OCR lines, so the rules are tested without a model. Each
category returns its evidence (what matched, on which line) so a reviewer sees why.

- spam_link: URLs with a scheme (http, https, ftp and the defanged hxxp), `www.`
  hosts, and bare domains such as `spam.example` or `bit.ly/abc`. Bare domains need
  a known TLD, so `1.2.3`, `3.14`, `e.g.` or `report.pdf` are not links (OCR's
  "bit. ly/abc", a space after a dot, counts when a path follows); TLDs that
  are also English words or file extensions (`.it`, `.me`, `.py`, `.sh`...) count only
  with a path or port (`t.me/x`), never alone (`main.py`, `ends.it`).
- contact_info: e-mail addresses (also `name [at] host [dot] com`) and phone numbers
  in common written forms: `+1 (555) 010-0100`, `(555) 010-0100`, `555-010-0100`,
  `555.010.0100`, `1-800-555-0100`, `555-0100`, `+44 20 7946 0958`, `020 7946 0958`;
  any 7-15 digit number right after a word like "call", "tel" or "whatsapp". OCR's
  O/0 and l/I/1 confusions next to digits are undone first ("555-O1OO").
  Not phones: years, prices, times (10:30), dates, versions (1.2.3), IP addresses,
  thousands (1 000 000), card-like 4x4 groups.
- blocked_terms: configured terms matched ignoring case, accents, spacing and
  punctuation, and the usual OCR/leet confusions (0/o, 1/l/i/|, 5/$/s, @/4/a, 3/e,
  7/t, Cyrillic/Greek look-alikes), so "buy now" matches "BUY  NOW", "buynow",
  "Buy-N0w" and "b u y n o w". A match must start and end on a word boundary
  ("sex" does not match "Essex"); `*` at either end of a term lifts that
  (`*money` matches "easymoney").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

CATEGORIES = ("spam_link", "contact_info", "blocked_terms")

# --- links -----------------------------------------------------------------------------

# TLDs accepted on a bare domain. Not the full IANA list (1,400+): the common generic
# ones, those that spam and shorteners favour, the reserved test names, and country
# codes that are not also words or file extensions.
_TLDS = frozenset(
    """
com net org info biz edu gov mil int xyz top site online club shop store app dev page
link click live life news today world space tech website fun icu vip win bid loan men
work party date review stream trade download racing science cricket faith accountant
buzz cyou monster rest sbs cfd bond quest lol mobi pro name asia tel travel jobs email
chat social media love sexy porn xxx adult sex cam webcam dating tube video gdn ooo one
best cool guru ninja rocks agency digital network solutions support services bet casino
poker games money cash loans credit finance capital exchange market deals sale promo
gift gifts coupons free plus cloud host press blog wiki zone center city group team
example test invalid localhost onion
ac ae af ag al ar au az ba bd bg bh bo br bw bz ca cf ch cl cn cr cu cy cz de dk dz
ec ee eg es et eu fi fj fm fr ga gd ge gg gh gi gl gq gr gt gy hk hn hr ht hu ie il im
iq ir je jm jo jp ke kg kh kr kw kz la lb li lk lt lu lv ly ma mc mk ml mn mo mt mu mv
mw mx mz na ng ni np nz om pa pe ph pk pr pt pw qa ro ru rw sa sc sd se sg si sk sn su
sv sy th tj tk tm tn tr tt tw tz ua ug uk uy uz vc ve vn vu ws ye za zm zw cc tv io co
""".split()
)
# Country codes that read as words or file names: a link only with a path or port.
_TLDS_WITH_PATH = frozenset(
    """
am an as at be by do go id in is it me my no so to us ai ps py sh md rs pl mk
""".split()
)

_SCHEME_URL = re.compile(r"(?<![\w])(?:https?|hxxps?|ftp)://[^\s<>\"'\x00]+", re.I)
_WWW = re.compile(r"(?<![\w.@/-])www\d{0,3}\.[^\s<>\"'\x00]+", re.I)
_BARE_DOMAIN = re.compile(
    r"(?<![\w@./:-])"
    r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24}))"
    r"(?![\w-])((?::\d{1,5})?/[^\s<>\"'\x00]*|:\d{1,5})?",
    re.I,
)
# OCR sometimes puts a space after a dot ("bit. ly/abc"); such a host counts only
# with a path, since "Good. Info" is two sentences.
_SPACED_DOMAIN = re.compile(
    r"(?<![\w@./:-])"
    r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\. ?)+([a-z]{2,24}))"
    r"(?![\w-])(/[^\s<>\"'\x00]+)",
    re.I,
)
_TRAILING = ".,;:!?)]}'\""

# --- contact ---------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,24}(?![\w-])", re.I)
_OBFUSCATED_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+\s*[\[({]\s*at\s*[\])}]\s*[\w-]+"
    r"(?:\s*(?:[\[({]\s*dot\s*[\])}]|\.)\s*[\w-]+)+",
    re.I,
)
# A run of digits, spaces, dots, hyphens and parentheses that may hold a phone number;
# it is split on spaces and validated below.
_PHONE_RUN = re.compile(
    r"(?<![\w.,/#$€£¥₹+-])"
    r"\+?\s?[(\d][\d() .-]*[\d)]"
    r"(?![\w]|[.,:/]\d)"
)
_PHONE_KEYWORD = re.compile(
    r"\b(?:call|tel|phone|ph|mob|mobile|cell|whats ?app|wa|sms|text|fax|contact|hotline"
    r"|viber|telegram|signal)(?:\W+(?:us|me|now|today|at|on|or|free|24/7))*\W{0,6}$",
    re.I,
)
_GROUP = re.compile(r"\(\s?(\d{1,4})\s?\)|(\d+)")
_SEPARATOR = re.compile(r" {0,2}[.-]? {0,2}")

# --- blocked terms ---------------------------------------------------------------------

# OCR and leetspeak confusions, then Cyrillic and Greek letters drawn like Latin ones.
_CONFUSABLE = dict(
    zip(
        "01l|!34@5$7€авеёкмнорстухіјѕαβεικνορτυχ",
        "oiiiieaassteabeekmhopctyxijsabeikvoptux",
        strict=True,
    )
)


@dataclass(frozen=True)
class Evidence:
    kind: str  # url, domain, email, phone, term
    text: str  # as recognised
    line: int  # index of the OCR line it starts on
    term: str | None = None  # the configured term, for blocked_terms

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# --- public API ------------------------------------------------------------------------


class BlockedTerms:
    """A configured term list, normalised once and matched against many texts."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._terms: list[tuple[str, str, bool, bool]] = []
        for raw in terms:
            term = raw.strip()
            if not term:
                continue
            loose_start, loose_end = term.startswith("*"), term.endswith("*")
            skeleton, _ = _skeleton(term.strip("*"))
            if not skeleton:
                raise ValueError(f"blocked term {raw!r} has no letters or digits")
            self._terms.append((term, skeleton, loose_start, loose_end))

    def __bool__(self) -> bool:
        return bool(self._terms)

    def find(self, text: str) -> list[tuple[str, int, int]]:
        """(term, start, end) of each match in `text`; overlapping repeats are kept."""
        skeleton, spans = _skeleton(text)
        found = []
        for term, needle, loose_start, loose_end in self._terms:
            at = skeleton.find(needle)
            while at >= 0:
                start, end = spans[at][0], spans[at + len(needle) - 1][1]
                if (loose_start or _boundary_before(text, start)) and (
                    loose_end or _boundary_after(text, end)
                ):
                    found.append((term, start, end))
                at = skeleton.find(needle, at + 1)
        return found


def parse_terms(value: str) -> BlockedTerms:
    """Terms from configuration: comma- or newline-separated."""
    return BlockedTerms(re.split(r"[,\n]", value))


def categorize(
    lines: Sequence[str], blocked: BlockedTerms | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Evidence per category for the OCR lines of one image (every key always present).

    Lines are joined with newlines: links and phone numbers never span lines, blocked
    terms may ("BUY" above "NOW"). A span claimed by one kind is masked for the next
    (an e-mail's domain is not also a link, a URL's digits are not a phone number).
    """
    text = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset) - 1

    links: list[tuple[int, Evidence]] = []
    contacts: list[tuple[int, Evidence]] = []
    masked = text

    def claim_urls(pattern: re.Pattern[str]) -> None:
        nonlocal masked
        for m in pattern.finditer(masked):
            url = m.group(0).rstrip(_TRAILING)
            links.append((m.start(), Evidence("url", url, line_of(m.start()))))
            masked = _mask(masked, m.start(), m.end())

    claim_urls(_SCHEME_URL)  # first: "http://user@host/..." is a link, not an e-mail
    for pattern in (_EMAIL, _OBFUSCATED_EMAIL):
        for m in pattern.finditer(masked):
            contacts.append((m.start(), Evidence("email", m.group(0), line_of(m.start()))))
            masked = _mask(masked, m.start(), m.end())
    claim_urls(_WWW)
    for pattern in (_BARE_DOMAIN, _SPACED_DOMAIN):
        for m in pattern.finditer(masked):
            tld, with_path = m.group(2).lower(), len(m.group(3) or "") > 1
            if is_tld(tld, with_path):
                domain = m.group(0).rstrip(_TRAILING)
                links.append((m.start(), Evidence("domain", domain, line_of(m.start()))))
                masked = _mask(masked, m.start(), m.end())
    for start, end in _phones(_digit_lookalikes(masked)):
        contacts.append((start, Evidence("phone", text[start:end], line_of(start))))
    found = sorted(blocked.find(text), key=lambda t: (t[1], t[0])) if blocked else []
    terms = [Evidence("term", text[start:end], line_of(start), term) for term, start, end in found]
    return {
        "spam_link": [e.to_dict() for _, e in sorted(links, key=lambda p: p[0])],
        "contact_info": [e.to_dict() for _, e in sorted(contacts, key=lambda p: p[0])],
        "blocked_terms": [e.to_dict() for e in terms],
    }


def is_tld(label: str, with_path: bool = False) -> bool:
    """Whether `label` ends a bare domain: a known TLD, or a word-like one with a path."""
    label = label.lower()
    return label in _TLDS or (with_path and label in _TLDS_WITH_PATH)


def flags(categories: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The categories that have evidence, in a stable order."""
    return [name for name in CATEGORIES if categories.get(name)]


# --- phones ----------------------------------------------------------------------------


def _phones(text: str) -> list[tuple[int, int]]:
    """Spans of phone numbers: each digit run is split at spaces into chunks and the
    longest run of whole chunks that reads as a phone number is taken, left to right."""
    found = []
    for m in _PHONE_RUN.finditer(text):
        chunks = [
            (c.start() + m.start(), c.end() + m.start()) for c in re.finditer(r"\S+", m.group(0))
        ]
        i = 0
        while i < len(chunks):
            for j in range(len(chunks), i, -1):
                start, end = chunks[i][0], chunks[j - 1][1]
                if _is_phone(text[start:end], text[max(0, start - 30) : start]):
                    found.append((start, end))
                    i = j
                    break
            else:
                i += 1
    return found


_LOOKS_LIKE_ZERO = re.compile(r"(?<=\d)[Oo]|[Oo](?=\d)")
_LOOKS_LIKE_ONE = re.compile(r"(?<=\d)[lI|]|[lI|](?=\d)")


def _digit_lookalikes(text: str) -> str:
    """OCR's O-for-0 and l/I-for-1 next to digits ("555-O1OO") read as digits; the
    length is kept so spans still point into the recognised text."""
    for _ in range(8):  # each pass converts one more character of a run like "OO"
        changed = _LOOKS_LIKE_ONE.sub("1", _LOOKS_LIKE_ZERO.sub("0", text))
        if changed == text:
            break
        text = changed
    return text


def _is_phone(candidate: str, before: str) -> bool:
    plus = candidate.startswith("+")
    body = candidate[1:].lstrip() if plus else candidate
    groups: list[tuple[str, bool]] = []
    seps: list[str] = []
    pos = 0
    for m in _GROUP.finditer(body):
        between = body[pos : m.start()]
        if groups:
            if not _SEPARATOR.fullmatch(between):
                return False
            seps.append(between.strip() or (" " if between else ""))
        elif between:
            return False
        groups.append((m.group(1) or m.group(2), m.group(1) is not None))
        pos = m.end()
    if body[pos:] or not groups:
        return False
    digits = "".join(g for g, _ in groups)
    shape = [len(g) for g, _ in groups]
    parens = [p for _, p in groups]
    dots = [s == "." for s in seps]
    if any(dots) and not all(dots):
        return False  # 1.5 2.5, 10.0.1-2: decimals and versions, not phones
    if _looks_like_date(groups, seps):
        return False
    if plus:
        return 8 <= len(digits) <= 15 and (len(groups) == 1 or shape[0] <= 3)
    nanp = shape in ([3, 3, 4], [1, 3, 3, 4]) and not any(parens[-2:])
    if nanp or (shape == [3, 4] and seps == ["-"] and not any(parens)):
        return True
    if any(dots):
        return False
    if (
        digits[0] == "0"
        and 9 <= len(digits) <= 12
        and len(groups) >= 2
        and all(2 <= n <= 5 for n in shape)
    ):
        return True  # national format with a trunk 0: 020 7946 0958, 0800-123-4567
    return bool(_PHONE_KEYWORD.search(before)) and 7 <= len(digits) <= 15 and len(groups) <= 5


def _looks_like_date(groups: list[tuple[str, bool]], seps: list[str]) -> bool:
    if len(groups) != 3 or any(p for _, p in groups) or len(set(seps)) != 1:
        return False
    a, b, c = (int(g) for g, _ in groups)
    la, lc = len(groups[0][0]), len(groups[2][0])
    if la == 4:  # 2024-01-15
        return 1 <= b <= 12 and 1 <= c <= 31
    if lc in (2, 4):  # 15-01-2024, 01.15.24
        return (1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31)
    return False


# --- term skeletons --------------------------------------------------------------------


def _skeleton(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Letters and digits only, folded (case, accents, look-alikes), with each kept
    character's (start, end) in `text` so a match maps back to what was recognised."""
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for i, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold():
                folded = _CONFUSABLE.get(folded, folded)
                if folded.isalnum():
                    chars.append(folded)
                    spans.append((i, i + 1))
    return "".join(chars), spans


def _continues_word(text: str, i: int, step: int) -> bool:
    """Whether text[i] carries a word on: a letter or digit, or a look-alike symbol
    with a letter or digit beyond it ("a$$" is a word; "NOW!" ends at the "!")."""
    if not 0 <= i < len(text):
        return False
    char = text[i]
    if char.isalnum():
        return True
    beyond = i + step
    return char in _CONFUSABLE and 0 <= beyond < len(text) and text[beyond].isalnum()


def _boundary_before(text: str, start: int) -> bool:
    return not _continues_word(text, start - 1, -1)


def _boundary_after(text: str, end: int) -> bool:
    return not _continues_word(text, end, 1)


def _mask(text: str, start: int, end: int) -> str:
    """Blank out a span already claimed by another kind, keeping offsets; NUL is
    neither a separator nor part of any pattern, so nothing joins across it."""
    return text[:start] + "\x00" * (end - start) + text[end:]
