"""Issue 11 §7, English pages translate the vocabularies: values stored in Chinese (organisation
types, service point and activity kinds, road kinds, statuses) are named from one table
(geo.vocab.TERMS) in the legends, tooltips, cards and lists of ?lang=en pages, and Chinese pages keep
the Chinese names. In Chromium on the sample district."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from web_browser import Browser, PageLog, serve, wait_for_map

from geo import vocab
from layers import catalog
from web.i18n import vocab as page_vocab

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_enumeration_has_names_in_both_languages() -> None:
    shown = (
        *vocab.ORG_TYPES,
        *vocab.SERVICE_POINT_KINDS,
        *vocab.ACTIVITY_KINDS,
        *vocab.MEETING_KINDS,
        *vocab.MEMBER_STATUSES,
        *vocab.ACTIVITY_STATUSES,
        *vocab.REGISTRATION_STATUSES,
        *vocab.DRIVE_KMH,
        *vocab.LANDUSE_KINDS,
    )
    missing = [v for v in shown if v not in vocab.TERMS]
    assert missing == []
    for value, (zh, en) in vocab.TERMS.items():
        assert HAN.search(zh), (value, zh)  # zh-CN names are Chinese
        assert en and not HAN.search(en), (value, en)  # English names hold no Chinese
    assert vocab.term("党群服务中心", "en") == "Party–Mass Service Centre"
    assert vocab.term("党群服务中心", "zh-CN") == "党群服务中心"
    assert vocab.term("scheduled", "zh-CN") == "待开始"
    assert vocab.term("no such kind", "en") == "no such kind"


def test_legends_name_kinds_from_the_vocabulary() -> None:
    for layer in catalog.visible("admin"):
        for entry in layer.style.legend:
            for value, (zh, en) in vocab.TERMS.items():
                if entry.zh == zh and value in (layer.style.colors or {}):
                    assert entry.en == en, (layer.id, entry)


def test_page_vocab_is_the_pages_language() -> None:
    en, zh = page_vocab("en"), page_vocab("zh-CN")
    assert en["党支部"] == "Party branch" and en["cancelled"] == "Cancelled"
    assert "党支部" not in zh  # a Chinese value names itself on Chinese pages
    assert zh["cancelled"] == "已取消"


@pytest.fixture(scope="module")
def base(sample_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(sample_url, {"DJMAP_HOME": str(tmp_path_factory.mktemp("vocab"))}) as url:
        yield url


def _config(base: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + path, timeout=60) as res:
        html = res.read().decode()
    found = re.search(r'<script id="djmap-config" type="application/json">(.*?)</script>', html)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1).replace("<\\/", "</"))
    return config


@pytest.mark.parametrize("path", ["/", "/nearest", "/coverage"])
def test_english_pages_carry_the_vocabulary(base: str, path: str) -> None:
    en = _config(base, path + "?lang=en")
    assert en["vocab"]["党群服务中心"] == "Party–Mass Service Centre"
    zh = _config(base, path + "?lang=zh-CN")
    assert "党群服务中心" not in zh["vocab"]


def _open(browser: Browser, base: str, path: str, viewport: dict[str, int]) -> tuple[Any, PageLog]:
    page, log = browser.open(base, "/api/health", viewport=viewport)
    page.evaluate("() => localStorage.clear()")
    page.goto(base + path, wait_until="load")
    wait_for_map(page)
    return page, log


def _clean(log: PageLog) -> None:
    problems = [p for p in log.problems() if "ERR_ABORTED" not in p]  # tiles a fly left behind
    assert problems == [], problems


def _lone_service_point(url: str) -> tuple[int, float, float, str]:
    """A service point with no activity drawn on it (its own tooltip answers the hover)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT s.id, ST_X(s.geom), ST_Y(s.geom), s.kind FROM service_points s "
            "WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE ST_DWithin(a.geom, s.geom, 0.0005))"
            " ORDER BY s.id LIMIT 1"
        ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2]), str(row[3])


def _hover_tooltip(page: Any, lon: float, lat: float) -> str:
    page.evaluate(
        "([lon, lat]) => window.djmapMap.flyTo({longitude: lon, latitude: lat, zoom: 17.5,"
        " pitch: 0, bearing: 0}, 0)",
        [lon, lat],
    )
    hit = page.wait_for_function(
        """([lon, lat]) => {
            const d = window.djmapMap.deck, vp = d.getViewports()[0];
            if (!vp || Math.abs(vp.zoom - 17.5) > 0.01) return null;
            const [x, y] = vp.project([lon, lat]);
            const o = d.pickObject({x, y, radius: 4});
            return o && o.object && (o.object.properties || o.object).kind ? [x, y] : null; }""",
        arg=[lon, lat],
    )
    x, y = hit.json_value()
    box = page.locator("#map").bounding_box()
    assert box is not None
    tip = page.locator("div.tip")
    for dx in (0, 1, -1, 2):
        page.mouse.move(box["x"] + x + dx, box["y"] + y)
        try:
            tip.wait_for(state="visible", timeout=5_000)  # a retry's interval, not a limit
            break
        except Exception:
            continue
    return str(tip.inner_text())


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_leader_names_kinds_in_the_page_language(
    browser: Browser, base: str, sample_url: str, lang: str, output_dir: Path
) -> None:
    sp_id, lon, lat, kind = _lone_service_point(sample_url)
    english = vocab.term(kind, "en")
    page, log = _open(browser, base, f"/?lang={lang}", DESKTOP)
    legend = page.locator("#layer-list .lg").all_text_contents()
    badges = page.locator("#org-tree .badge").all_text_contents()
    assert badges, "no organisation tree"
    if lang == "en":
        assert "Party–Mass Service Centre" in legend and "Theme Party Day" in legend, legend
        assert "Arterial road" in legend, legend
        assert not [x for x in legend if HAN.search(x)], legend
        assert set(badges) <= {"Party committee", "General party branch", "Party branch"}, badges
    else:
        assert "党群服务中心" in legend and "主题党日" in legend, legend
        assert set(badges) <= set(vocab.ORG_TYPES), badges
    tip = _hover_tooltip(page, lon, lat)
    assert (f"({english})" if lang == "en" else f"（{kind}）") in tip, tip
    assert "Mo-" not in tip and "Sa 09" not in tip, tip  # opening hours in words (humane.js)
    page.evaluate(f"() => window.djmapLeader.openServicePoint({sp_id})")
    page.wait_for_selector(f"#sp-body .sp-name[data-sp='{sp_id}']")
    tag = page.text_content("#sp-body .kind-tag")
    assert tag == (english if lang == "en" else kind)
    activity_tip = page.evaluate(
        """() => window.djmap.tooltipHTML(
            window.djmapMap.panel.find((e) => e.card === 'activity').tooltip,
            {title: 'T', kind: '主题党日', starts_at: '2026-12-12T03:00:00+00:00',
             ends_at: '2026-12-12T05:00:00+00:00'})"""
    )
    if lang == "en":
        assert activity_tip == "T (Theme Party Day)<br/>Sat 2026-12-12 11:00–13:00", activity_tip
    else:
        assert activity_tip == "T（主题党日）<br/>12月12日 周六 11:00–13:00", activity_tip
    page.screenshot(path=str(output_dir / f"ux-vocab-leader-{lang}.png"))
    _clean(log)
    page.close()


def test_member_list_names_kinds_in_english(
    browser: Browser, base: str, sample_url: str, output_dir: Path
) -> None:
    _, lon, lat, _ = _lone_service_point(sample_url)
    page, log = _open(browser, base, "/nearest?lang=en", PHONE)
    page.evaluate(f"() => window.djmapNearest.locate({lon}, {lat})")
    page.wait_for_function("() => document.querySelectorAll('#results li[data-id]').length > 0")
    metas = page.locator("#results li[data-id] .meta span:first-child").all_text_contents()
    kinds = (*vocab.SERVICE_POINT_KINDS, *vocab.ACTIVITY_KINDS)  # points, then activities near by
    assert metas and set(metas) <= {vocab.term(k, "en") for k in kinds}, metas
    assert vocab.term("党群服务中心", "en") in metas or vocab.term("党群服务站", "en") in metas
    page.screenshot(path=str(output_dir / "ux-vocab-nearest-en.png"))
    _clean(log)
    page.close()
