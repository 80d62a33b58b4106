"""Scrubbing personal data from free text, and the HTML safety check."""

from __future__ import annotations

import pytest

from toolkit.privacy import check_html_safe, contains_pii, has_markup, pii_kinds, scrub_text


class TestScrubText:
    @pytest.mark.parametrize(
        ("text", "raw", "kind"),
        [
            (
                "mail me: jane.doe+shop@example.co.uk thanks",
                "jane.doe+shop@example.co.uk",
                "email",
            ),
            (
                "My email is nicole.schwarz854@example.com, ok",
                "nicole.schwarz854@example.com",
                "email",
            ),
            ("call me on +49 151 23456789, the order is missing", "+49 151 23456789", "phone"),
            ("I left my number +49 (0)30 1234567", "(0)30 1234567", "phone"),
            ("my number is 0171-1234567", "0171-1234567", "phone"),
            ("ring 0160 98765432 after six", "98765432", "phone"),
            ("US line +1 (555) 123-4567 works", "123-4567", "phone"),
            ("UK +44 20 7946 0958 works", "7946 0958", "phone"),
            ("call 030/1234567 please", "1234567", "phone"),
            ("Found it cheaper at https://www.example.net/deal?id=42", "example.net", "link"),
            ("see www.shop-example.de/sale for more", "shop-example.de", "link"),
            ("cheaper at zalando.de honestly", "zalando.de", "link"),
            ("please check order 4711", "4711", "id"),
            ("customer no. 558812 here", "558812", "id"),
            ("tracking 00340434161094012345 is stuck", "00340434161094012345", "id"),
            ("ticket #88231 still open", "88231", "id"),
            ("My name is Lena and I waited two weeks", "Lena", "name"),
            ("my name is mehmet, please check", "mehmet", "name"),
            ("Hi, I'm Tom and my parcel is late", "Tom", "name"),
            ("I am Julia Meier, a regular customer", "Julia Meier", "name"),
            ("Great shop. Cheers, Anna", "Anna", "name"),
            ("Love it - Kevin", "Kevin", "name"),
            ("Mein Name ist Jürgen und ich warte", "Jürgen", "name"),
        ],
    )
    def test_removes_personal_data(self, text, raw, kind):
        out = scrub_text(text)
        assert raw not in out
        assert f"[{kind}]" in out
        assert kind in pii_kinds(text)
        assert contains_pii(text)

    @pytest.mark.parametrize(
        "text",
        [
            "I am not sure my payment data is safe",
            "I'm really happy with the new collection",
            "this is ridiculous, the best price is elsewhere",
            "Delivered on 2026-06-01 as promised",
            "Prices: 19.99 / 29.99 / 39.99 are fine",
            "I bought 3 items for 12,000 euros",
            "the price was 5 < 10 & shipping was free",
            "Call me anytime, cheers mate",
            "It is Good and I am Happy",
            "Keep it up.",
            "",
        ],
    )
    def test_keeps_ordinary_text(self, text):
        assert scrub_text(text) == text
        assert not contains_pii(text)

    def test_known_names_are_removed_when_capitalised(self):
        text = "Anna from the hotline helped; ANNA is great. anna is a palindrome"
        out = scrub_text(text, names={"Anna"})
        assert out == "[name] from the hotline helped; [name] is great. anna is a palindrome"

    def test_is_idempotent_and_keeps_spacing(self):
        text = "Hi  there,\tmail a.b@example.org or call +49 151 23456789 - Tom"
        once = scrub_text(text)
        assert scrub_text(once) == once
        assert once == "Hi  there,\tmail [email] or call [phone] - [name]"

    def test_non_strings_give_empty_text(self):
        assert scrub_text(None) == ""
        assert scrub_text(float("nan")) == ""
        assert not contains_pii(None)


class TestHasMarkup:
    @pytest.mark.parametrize(
        "text",
        [
            "<script>alert(1)</script>",
            "nice shop <img src=x onerror=alert(1)>",
            "<b>great</b> shop",
            "click javascript:alert(1)",
            "<!-- hidden -->",
        ],
    )
    def test_finds_markup(self, text):
        assert has_markup(text)

    @pytest.mark.parametrize("text", ["5 < 10 & free", "I <3 this shop", "a > b", "plain"])
    def test_plain_text_is_not_markup(self, text):
        assert not has_markup(text)


class TestCheckHtmlSafe:
    def test_escaped_text_and_plain_content_pass(self):
        html = (
            "<!DOCTYPE html><html><head><style>p { color: red; }</style></head><body>"
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;</p>"
            '<a href="personas.html">cards</a><img src="data:image/png;base64,iVBOR" alt="">'
            '<svg xmlns="http://www.w3.org/2000/svg"><rect width="3" height="4"/></svg>'
            "</body></html>"
        )
        assert check_html_safe(html) == []

    @pytest.mark.parametrize(
        ("html", "needle"),
        [
            ("<p>hi</p><script>alert(1)</script>", "<script>"),
            ('<img src=x onerror="alert(1)">', "onerror"),
            ("<img src=x onerror=alert(1)>", "onerror"),
            ('<div onclick="steal()">x</div>', "onclick"),
            ('<a href="javascript:alert(1)">x</a>', "script URL"),
            ('<a href=" JavaScript:alert(1)">x</a>', "script URL"),
            ('<img src="https://tracker.example/pixel.gif">', "external"),
            ('<script src="//cdn.example/x.js"></script>', "<script>"),
            ('<link rel="stylesheet" href="https://cdn.example/x.css">', "external"),
            ("<style>@import url(https://cdn.example/x.css);</style>", "style sheet"),
            ('<div style="background: url(http://x.example/a.png)">x</div>', "style attribute"),
            ('<iframe src="about:blank"></iframe>', "<iframe>"),
            ('<meta http-equiv="refresh" content="0; url=https://x.example">', "refresh"),
        ],
    )
    def test_flags_active_or_external_content(self, html, needle):
        problems = check_html_safe(html)
        assert problems, html
        assert any(needle in p for p in problems), problems
        assert all(p.startswith("line ") for p in problems)

    def test_reports_line_numbers(self):
        assert check_html_safe("<p>a</p>\n<p>b</p>\n<b onmouseover=x>c</b>") == [
            "line 3: event attribute onmouseover= on <b>"
        ]
