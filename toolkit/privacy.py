"""Privacy helpers: scrub personal data out of free text, and check HTML for active content.

* :func:`scrub_text` replaces e-mail addresses, phone numbers (international and local
  formats), web addresses, ids (long digit runs, numbers after "order", "customer no." ...) and
  personal names introduced by phrases such as "my name is ...", "I'm ...", or a signature
  ("Cheers, Anna", "- Tom") by placeholders: ``[email]``, ``[phone]``, ``[link]``, ``[id]``,
  ``[name]``.
* :func:`contains_pii` says whether :func:`scrub_text` would change a text.
* :func:`check_html_safe` lists what in an HTML document could run code or load something from
  the network: ``<script>`` and other active elements, ``on...=`` event attributes,
  ``javascript:`` URLs, external resources. Reports and persona cards must pass it.

Scrubbing is pattern based: it removes the common forms reliably and errs on the side of
removing too much, but it cannot promise to find every name in free text. That is why quotes are
also restricted to segments with enough commenters (see :func:`toolkit.personas.build_personas`).

Examples
--------
>>> from toolkit.privacy import scrub_text, contains_pii
>>> scrub_text("Call me on +49 151 23456789 or mail anna.k@example.com - Anna")
'Call me on [phone] or mail [email] - [name]'
>>> contains_pii("Great shoes, fast delivery!")
False
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

__all__ = [
    "PLACEHOLDERS",
    "scrub_text",
    "contains_pii",
    "pii_kinds",
    "has_markup",
    "check_html_safe",
    "escape_markdown",
]

#: Placeholder written in place of each kind of personal data.
PLACEHOLDERS = {
    "email": "[email]",
    "link": "[link]",
    "phone": "[phone]",
    "id": "[id]",
    "name": "[name]",
}

_EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(
    r"(?i:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']+"
    r"|\b[\w-]{2,}(?:\.[\w-]+)*\.(?:com|org|net|de|at|ch|eu|uk|io|co|info|biz|shop|app|fr|nl|es)"
    r"(?:/[^\s<>\"']*)?(?![\w.-])"
)
# Digits with the separators phone numbers use; the digit count is checked in code.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \t().\/-]{4,}\d(?![\w])")
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_PRICE = re.compile(r"\d[.,]\d{2}(?!\d)")
_ID_WORD = re.compile(
    r"\b((?:order|customer|client|account|invoice|ticket|tracking|member|contract|case|"
    r"reference|ref|bestell|kunden|auftrags|rechnungs)(?:[ -]?(?:no|nr|number|nummer|id|#))?"
    r"\.?:?\s*#?\s*)(\d[\d-]{2,})\b",
    re.IGNORECASE,
)
_LONG_DIGITS = re.compile(r"(?<![\w.,])\d{5,}(?![\w.,]\d)")
_HASH_ID = re.compile(r"#\s?\d{3,}\b")

_WORD = r"[^\W\d_][\w'’-]*"
_CAP = r"(?:[A-ZÀ-ÖØ-Þ][\w'’-]*)"
# "my name is X", "mein Name ist X", "ich heiße X": the next word is a name, whatever its case.
_NAME_INTRO = re.compile(
    rf"(\b(?i:my name is|my name's|mein name ist|ich hei(?:ss|ß)e|name:)\s+)({_WORD})"
    rf"(\s+{_CAP})?"
)
# "I'm X", "this is X", "call me X": only capitalised words that are not common words.
_I_AM = re.compile(
    rf"(\b(?i:I'm|I’m|I am|Im|ich bin|this is|call me|signed|signed by|it's|it is)\s+)"
    rf"({_CAP})(\s+{_CAP})?"
)
# Sign-offs at the start of the text or of a sentence, followed by a name at the very end
# ("... Cheers, Anna", "Thanks Tom!").
_SIGN_OFF = re.compile(
    rf"((?:^|(?<=[.!?\n])\s*|(?<=[.!?]\s))(?i:kind regards|best regards|best wishes|regards|"
    rf"best|cheers|thanks|thank you|thx|greetings|love|bye|ciao|gru(?:ss|ß)|"
    rf"gr(?:ü|ue)(?:ss|ß)e|lg|vg|mfg|danke)[,!.:]?\s+)({_CAP})(\s+{_CAP})?(\s*[.!]*\s*)$"
)
# A dash or tilde signature at the end: "... great shop - Anna", "~ Tom K."
_DASH_SIGNATURE = re.compile(rf"(\s(?:-{{1,2}}|–|—|~)\s*)({_CAP})(\s+{_CAP}\.?)?(\s*)$")
# Capitalised words that follow "I'm" and the like without being names.
_NOT_NAMES = {
    "a", "an", "the", "not", "so", "very", "really", "still", "just", "always", "never", "also",
    "sure", "happy", "glad", "sorry", "afraid", "new", "old", "here", "there", "done", "back",
    "ok", "okay", "fine", "good", "great", "satisfied", "unsure", "disappointed", "writing",
    "looking", "going", "trying", "waiting", "interested", "from", "in", "at", "on", "with",
    "no", "too", "quite", "rather", "pretty", "totally", "absolutely", "definitely", "usually",
    "only", "now", "again", "one", "customer", "student", "mother", "father", "mum", "mom",
    "dad", "retired", "amazon", "paypal", "nicht", "sehr", "zufrieden", "hier", "kunde",
    "ein", "eine", "it", "this", "that", "what", "all", "everyone", "everybody", "team", "you",
    "guys", "folks", "lot", "much", "anyway", "for", "to", "mate", "everything", "schön",
    "dir", "euch", "auch", "wirklich", "amazing", "awesome", "nice", "love", "ridiculous",
    "terrible", "impossible", "annoying", "frustrating", "easy", "hard", "cheap", "expensive",
    "free", "late", "fast", "slow", "same", "better", "worse", "best", "worst", "perfect",
    "excellent", "fantastic", "wonderful", "horrible", "bad", "weird", "strange", "true",
    "false", "me", "my", "we", "our", "they", "their", "he", "she", "his", "her", "i", "if",
}  # fmt: skip
_DIGIT = re.compile(r"\d")
_TLD_HINT = re.compile(r"\.(?:com|org|net|de|at|ch|eu|uk|io|co|info|biz|shop|app|fr|nl|es)\b")
_INTRO_HINTS = ("name", "heiß", "heiss")
_I_AM_HINTS = ("i'm", "i’m", "i am", "im ", "ich bin", "this is", "call me", "signed", "it's",
               "it is")  # fmt: skip
_SIGN_OFF_WINDOW = 80  # sign-offs and signatures are looked for in the text's last characters
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>|<!--|javascript\s*:|\bon[a-z]+\s*=", re.IGNORECASE)


def _is_name(word: str) -> bool:
    return word.strip(".,!?'’").lower() not in _NOT_NAMES


def _scrub(text: str, names: Iterable[str] | None = None) -> tuple[str, set[str]]:
    found: set[str] = set()
    out = text

    def sub(pattern: re.Pattern[str], kind: str, s: str) -> str:
        def repl(m: re.Match[str]) -> str:
            found.add(kind)
            return PLACEHOLDERS[kind]

        return pattern.sub(repl, s)

    low = out.lower()
    if "@" in out:
        out = sub(_EMAIL, "email", out)
    if "://" in out or "www." in low or _TLD_HINT.search(out):
        out = sub(_URL, "link", out)

    def id_repl(m: re.Match[str]) -> str:
        found.add("id")
        return m.group(1) + PLACEHOLDERS["id"]

    def phone_repl(m: re.Match[str]) -> str:
        s = m.group(0)
        digits = sum(c.isdigit() for c in s)
        core = s.strip("() ")
        if digits < 7 or _DATE.match(core) or re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", core):
            return s
        if core.isdigit() and not core.startswith("0"):
            return s  # a plain digit run: an id, not a phone number
        if _PRICE.search(core) and "+" not in s:
            return s
        lead = s[: len(s) - len(s.lstrip())]
        found.add("phone")
        return lead + PLACEHOLDERS["phone"]

    if _DIGIT.search(out):
        out = _ID_WORD.sub(id_repl, out)
        out = _PHONE.sub(phone_repl, out)
        out = sub(_HASH_ID, "id", out)
        out = sub(_LONG_DIGITS, "id", out)

    def name_repl(m: re.Match[str]) -> str:
        if not _is_name(m.group(2)):
            return m.group(0)
        found.add("name")
        return m.group(1) + PLACEHOLDERS["name"]

    if any(h in low for h in _INTRO_HINTS):
        out = _NAME_INTRO.sub(name_repl, out)
    if any(h in low for h in _I_AM_HINTS):
        out = _I_AM.sub(name_repl, out)

    def sign_repl(m: re.Match[str]) -> str:
        if not _is_name(m.group(2)):
            return m.group(0)
        found.add("name")
        return m.group(1) + PLACEHOLDERS["name"] + (m.group(4) or "")

    for pattern in (_SIGN_OFF, _DASH_SIGNATURE):
        start = max(0, len(out) - _SIGN_OFF_WINDOW)
        m = pattern.search(out, start)
        if m is not None:
            out = out[: m.start()] + sign_repl(m) + out[m.end() :]
    if names:
        key = names if isinstance(names, frozenset) else frozenset(names)
        pattern = _names_pattern(key)
        if pattern is not None:
            out = sub(pattern, "name", out)
    return out, found


@functools.lru_cache(maxsize=8)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    """One pattern for capitalised ("Lena") and upper-case ("LENA") forms of known names."""
    clean = {str(n).strip() for n in names if str(n).strip()}
    forms = {f for n in clean for f in (n[:1].upper() + n[1:], n.upper())}
    if not forms:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(forms, key=lambda f: (-len(f), f)))
    return re.compile(r"(?<![\w\[])(?:" + alternatives + r")(?![\w\]])")


def scrub_text(text: str, *, names: Iterable[str] | None = None) -> str:
    """Replace personal data in ``text`` by placeholders.

    Parameters
    ----------
    text : str
        Free text such as a survey comment. Non-strings (None, NaN) give "".
    names : iterable of str, optional
        Names known to occur in the data (e.g. the first names of the users source); every
        capitalised occurrence ("Lena", "LENA") is replaced.

    Returns
    -------
    str
        The text with ``[email]``, ``[phone]``, ``[link]``, ``[id]`` and ``[name]`` in place of
        e-mail addresses, phone numbers, web addresses, ids and introduced names. Everything
        else, including spacing, is kept.

    Examples
    --------
    >>> scrub_text("My name is Lena, please check order 4711")
    'My name is [name], please check order [id]'
    >>> scrub_text("Hotline never answers, I left my number 0171-1234567")
    'Hotline never answers, I left my number [phone]'
    >>> scrub_text("Found it cheaper at https://www.example.net/deal?id=42")
    'Found it cheaper at [link]'
    """
    if not isinstance(text, str):
        return ""
    return _scrub(text, names)[0]


def pii_kinds(text: str, *, names: Iterable[str] | None = None) -> set[str]:
    """The kinds of personal data :func:`scrub_text` finds in ``text`` (e.g. ``{"email"}``).

    Examples
    --------
    >>> sorted(pii_kinds("mail me: a@b.de or call +44 20 7946 0958"))
    ['email', 'phone']
    """
    if not isinstance(text, str):
        return set()
    return _scrub(text, names)[1]


def contains_pii(text: str, *, names: Iterable[str] | None = None) -> bool:
    """Whether ``text`` holds something :func:`scrub_text` would remove.

    Examples
    --------
    >>> contains_pii("I'm Tom and the parcel is late"), contains_pii("I'm not sure about it")
    (True, False)
    """
    return bool(pii_kinds(text, names=names))


def has_markup(text: str) -> bool:
    """Whether ``text`` looks like it holds HTML tags, event attributes or script URLs.

    Examples
    --------
    >>> has_markup("nice shop <img src=x onerror=alert(1)>"), has_markup("5 < 10 & free")
    (True, False)
    """
    return isinstance(text, str) and bool(_MARKUP.search(text))


# --------------------------------------------------------------------------------------------
# HTML safety check
# --------------------------------------------------------------------------------------------
_ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base"}
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"}
_RESOURCE_ATTRS = {"src", "srcset", "data", "poster"}
_BAD_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data\s*:\s*text/html)\s*:?", re.IGNORECASE)
_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_EXTERNAL = re.compile(
    r"@import|url\(\s*['\"]?\s*(?:https?:)?//|expression\s*\(|javascript:", re.IGNORECASE
)


class _SafetyParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def _add(self, what: str) -> None:
        line, _ = self.getpos()
        self.problems.append(f"line {line}: {what}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)
        if tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_EXTERNAL.search(data):
            self._add("style sheet imports or loads an external resource")

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ACTIVE_TAGS:
            self._add(f"<{tag}> element")
        if tag == "meta" and any(
            k == "http-equiv" and (v or "").lower() == "refresh" for k, v in attrs
        ):
            self._add("<meta http-equiv=refresh> redirect")
        for key, value in attrs:
            value = value or ""
            if key.startswith("on"):
                self._add(f"event attribute {key}= on <{tag}>")
            if key in _URL_ATTRS and _BAD_SCHEME.match(value):
                self._add(f"{key}={value[:40]!r} on <{tag}> (script URL)")
            if key in _RESOURCE_ATTRS and _EXTERNAL.match(value):
                self._add(f"{key}={value[:60]!r} on <{tag}> loads an external resource")
            if tag == "link" and key == "href" and _EXTERNAL.match(value):
                self._add(f"<link href={value[:60]!r}> loads an external resource")
            if key == "style" and _CSS_EXTERNAL.search(value):
                self._add(f"style attribute on <{tag}> loads an external resource")


def check_html_safe(html: str) -> list[str]:
    """List what in ``html`` could run code or make a network request (empty = safe).

    Flags ``<script>``, ``<iframe>``, ``<object>``, ``<embed>`` and ``<base>`` elements, event
    handler attributes (``onerror=``, ``onclick=``...), ``javascript:``/``vbscript:`` URLs,
    resources loaded from another host (``src="https://..."``, ``<link href="//...">``, CSS
    ``@import`` and ``url(http...)``) and meta refresh redirects. Escaped text such as
    ``&lt;script&gt;`` is text, not markup, and passes. Plain links (``<a href>``) are allowed.

    Parameters
    ----------
    html : str
        A complete HTML document or fragment.

    Returns
    -------
    list of str
        One message per problem, with its line number.

    Examples
    --------
    >>> check_html_safe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    []
    >>> check_html_safe('<p>hi</p>\\n<img src=x onerror="alert(1)">')
    ['line 2: event attribute onerror= on <img>']
    """
    parser = _SafetyParser()
    parser.feed(html)
    parser.close()
    return parser.problems


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def escape_markdown(text: Any) -> str:
    """Escape user or data text for Markdown: HTML entities for < > &, backslashes for
    Markdown punctuation, line breaks folded, so nothing in it becomes markup or a link.

    Examples
    --------
    >>> escape_markdown("<b>*50%* off</b>")
    '&lt;b&gt;\\\\*50%\\\\* off&lt;/b&gt;'
    """
    s = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return re.sub(r"\s*\n\s*", " ", s)
