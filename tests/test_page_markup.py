"""Issue 11, what Lighthouse's accessibility audits read in the served HTML, checked without a
browser on every page in zh-CN and en: the document has a language and a title; every form control
has a name (a label around it, a label for it, aria-label or aria-labelledby); aria-label is never
on an element whose role forbids a name (a div or span without a role: axe's aria-prohibited-attr);
every image has alt; every button has a name; ids are unique. Lighthouse itself runs in
`make lighthouse` (bench/lighthouse/run.py)."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings, Settings
from geo.settings import DatabaseSettings

KEY = "page-markup-test-key-" + "x" * 32
PORTAL = "https://portal.example.org"
# Elements whose implicit role (generic, paragraph, …) may not be named (ARIA 1.2).
UNNAMEABLE = {"div", "span", "p", "b", "i", "em", "strong", "code", "small", "sub", "sup", "del"}
CONTROLS = {"input", "select", "textarea"}
UNNAMED_INPUTS = {"hidden", "submit", "button", "reset", "image"}


class Markup(HTMLParser):
    """What the checks need from one page's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.title = ""
        self.in_title = False
        self.label_depth = 0
        self.label_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.button: dict[str, str | None] | None = None
        self.button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "title":
            self.in_title = True
        elif tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in CONTROLS and a.get("type") not in UNNAMED_INPUTS:
            self.controls.append({**a, "tag": tag, "in_label": "1" if self.label_depth else None})
        elif tag == "img" and "alt" not in a:
            self.problems.append(f"img without alt: {a.get('src')}")
        elif tag == "button":
            self.button, self.button_text = a, ""
        named = "aria-label" in a or "aria-labelledby" in a
        if named and tag in UNNAMEABLE and not a.get("role"):
            self.problems.append(f"aria-label on a <{tag}> without a role: {a}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "label":
            self.label_depth -= 1
        elif tag == "button" and self.button is not None:
            if not (self.button_text.strip() or self.button.get("aria-label")):
                self.problems.append(f"button without a name: {self.button}")
            self.button = None

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        if self.button is not None:
            self.button_text += data

    def unnamed(self) -> list[dict[str, str | None]]:
        """Form controls with no accessible name."""
        return [
            c
            for c in self.controls
            if not (
                c["in_label"]
                or c.get("aria-label")
                or c.get("aria-labelledby")
                or (c.get("id") and c["id"] in self.label_for)
            )
        ]


@pytest.fixture(scope="module")
def pages(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on the test database, with a screen key and an embed key for their pages."""
    from geo.screen.keys import add_screen_key
    from geo.users import add_embed_key

    keys = {
        "screen": add_screen_key(db_url, "页面标记", None).key,
        "embed": add_embed_key(db_url, "页面标记", [PORTAL]).key,
    }
    settings = Settings(db=DatabaseSettings(database_url=db_url), api=ApiSettings(secret_key=KEY))
    with TestClient(create_app(settings)) as c:
        yield c, keys


PATHS = [
    ("/", 200),
    ("/nearest", 200),
    ("/coverage", 200),
    ("/card", 200),
    ("/checkin", 200),
    ("/admin", 200),
    ("/admin/embed", 200),
    ("/screen?key={screen}", 200),
    ("/embed?key={embed}", 200),
    ("/embed?key=unknown", 403),
    ("/api/docs", 200),
    ("/no-such-page", 404),
]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_is_labelled(pages: tuple[TestClient, dict[str, str]], lang: str) -> None:
    client, keys = pages
    for path, status in PATHS:
        url = path.format(**keys)
        url += ("&" if "?" in url else "?") + f"lang={lang}"
        res = client.get(url, headers={"Accept": "text/html", "Referer": PORTAL + "/"})
        assert res.status_code == status, url
        m = Markup()
        m.feed(res.text)
        assert m.lang == lang, url
        assert m.title.strip(), url
        assert m.unnamed() == [], url
        assert m.problems == [], url
        dupes = {i for i in m.ids if m.ids.count(i) > 1}
        assert not dupes, (url, dupes)


def test_the_checks_can_fail() -> None:
    bad = (
        '<html><head><title> </title></head><body><div id="map" aria-label="地图"></div>'
        '<input name="q" placeholder="搜索"><label>名<input name="n"></label>'
        '<label for="x">X</label><input id="x"><img src="a.png"><button type="button"> </button>'
        '<p id="x"></p></body></html>'
    )
    m = Markup()
    m.feed(bad)
    assert m.lang is None and not m.title.strip()
    assert [c.get("name") for c in m.unnamed()] == ["q"]
    assert len(m.problems) == 3  # the div's aria-label, the img's alt, the empty button
    assert m.ids.count("x") == 2
