"""The page of `openvid serve` in a real browser: Chromium driven by Playwright against a real server.

A uvicorn server runs in a thread on a free loopback port for the whole module, over one engine
(the tiny CLIP, 2 s windows) that indexed bikes.mp4 and bigbuckbunny.mp4 before it started. The
allowed root also holds `new/` (carphone_pristine.mp4 and a text file posing as a video), which
only the indexing test indexes, from the page. Each test opens a fresh browser context, and fails
on any JavaScript error the page raised.

Skipped as a whole where Playwright or a Chromium binary is missing (Debian: apt-get install chromium).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest


def _chromium() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


CHROMIUM = _chromium()
if CHROMIUM is None:
    pytest.skip("no Chromium to drive (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
pytest.importorskip("uvicorn")

from playwright.sync_api import expect  # noqa: E402

API = "/api/v1"
TIMEOUT_MS = 20_000  # a loaded CI machine; a passing run takes a fraction of it


# ---- the server -------------------------------------------------------------------------------

@contextlib.contextmanager
def serving(app):
    """`app` served by uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the port is ours from here on: no race with another process
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="openvid-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_model_dirs, sample_videos):
    from openvid import Engine
    from openvid.server.app import create_app
    from openvid.server.config import ServeConfig

    root = tmp_path_factory.mktemp("server-browser")
    archive, home = root / "archive", root / "home"
    (archive / "indexed").mkdir(parents=True)
    (archive / "new").mkdir()
    for name in ("bikes.mp4", "bigbuckbunny.mp4"):
        shutil.copyfile(sample_videos[name], archive / "indexed" / name)
    shutil.copyfile(sample_videos["carphone_pristine.mp4"], archive / "new" / "carphone_pristine.mp4")
    (archive / "new" / "broken.mp4").write_text("a shopping list, not a video\n" * 40)
    engine = Engine(model=str(tiny_model_dirs["clip"]), device="cpu", home=home, window_s=2.0, batch_size=4)
    engine.index_videos([archive / "indexed"])
    app = create_app(engine, ServeConfig(allow_roots=(archive,)))
    with serving(app) as url:
        yield {"url": url, "engine": engine, "archive": archive, "create_app": create_app, "config": ServeConfig}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, site):
    context = browser.new_context(base_url=site["url"], viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"the page raised: {errors}"


def cards(page):
    return page.get_by_test_id("result-card")


def first_segment_id(page, video_name: str) -> int:
    """The id of a video's first indexed segment (0-2 s), from the API the page uses."""
    videos = page.request.get(f"{API}/indexes/default/videos").json()
    video = next(v for v in videos if v["name"] == video_name)
    body = page.request.post(f"{API}/classify", data={"video_id": video["id"], "labels": ["a", "b"]}).json()
    first = body["prediction"]["segments"][0]
    assert first["start_s"] == 0.0
    return first["segment_id"]


# ---- search -----------------------------------------------------------------------------------

def test_search_shows_thumbnail_cards(page):
    page.goto("/")
    page.locator("#search-q").fill("people riding bikes")
    page.locator("#search-q").press("Enter")
    expect(cards(page).first).to_be_visible()
    assert "q=people+riding+bikes" in page.url
    names = cards(page).locator("[data-testid=result-name]").all_inner_texts()
    assert {"bikes.mp4", "bigbuckbunny.mp4"} <= set(names)
    for text in cards(page).locator("[data-testid=result-range]").all_inner_texts():
        assert re.fullmatch(r"\d+:\d\d–\d+:\d\d", text), text
    thumbs = page.locator("#search-results img[data-testid=result-thumb]")
    assert thumbs.count() == cards(page).count()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#search-results img')].every(i => i.complete && i.naturalWidth > 0)")
    assert min(thumbs.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")) > 0


def test_clicking_a_result_plays_the_video_from_the_moment(page):
    page.goto(f"/?view=search&like={first_segment_id(page, 'bigbuckbunny.mp4')}")
    expect(cards(page).first).to_be_visible()
    # the like segment itself (bigbuckbunny 0-2 s) is left out, so bigbuckbunny's moments start later
    later = [c for c in cards(page).all() if float(c.get_attribute("data-start")) > 0.5]
    assert later, "no moment starting after 0:00"
    card = later[0]
    start = float(card.get_attribute("data-start"))
    card.get_by_test_id("result-play").click()
    player = page.locator("#player")
    expect(player).to_be_visible()
    page.wait_for_function("() => { const v = document.querySelector('#player-video');"
                           " return v.readyState >= 2 && !v.paused && v.currentTime > 0; }")
    now = page.locator("#player-video").evaluate("v => v.currentTime")
    assert abs(now - start) < 1.0, (now, start)
    page.keyboard.press("Escape")
    expect(player).to_be_hidden()
    assert page.locator("#player-video").evaluate("v => v.paused")
    # the keyboard does the same: Enter on a card's play button
    card.get_by_test_id("result-play").press("Enter")
    expect(player).to_be_visible()
    page.keyboard.press("Escape")
    expect(player).to_be_hidden()


def test_the_url_holds_the_query(page):
    page.goto("/?view=search&q=bikes&index=default&per_video=1")
    expect(cards(page).first).to_be_visible()
    expect(page.locator("#search-q")).to_have_value("bikes")
    expect(page.locator("#search-per-video")).to_be_checked()
    names = cards(page).locator("[data-testid=result-name]").all_inner_texts()
    assert len(names) == len(set(names)) >= 2  # one moment per video
    # a new search is a new history entry; Back shows the first one again
    page.locator("#search-q").fill("a rabbit")
    page.locator("#search-q").press("Enter")
    expect(page).to_have_url(re.compile(r"q=a\+rabbit"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=bikes"))
    expect(page.locator("#search-q")).to_have_value("bikes")
    # "More like this" is in the URL too, so a reload shows the same moments
    cards(page).first.get_by_test_id("more-like").click()
    expect(page).to_have_url(re.compile(r"like=\d+"))
    expect(page.get_by_test_id("search-like")).to_be_visible()
    expect(page.get_by_test_id("search-status")).to_contain_text("like this one")
    shown = cards(page).evaluate_all("cs => cs.map(c => c.dataset.segmentId + '@' + c.dataset.start)")
    page.reload()
    expect(page.get_by_test_id("search-status")).to_contain_text("like this one")
    assert cards(page).evaluate_all("cs => cs.map(c => c.dataset.segmentId + '@' + c.dataset.start)") == shown


def test_api_errors_are_shown_politely(page):
    page.goto("/?view=search&q=bikes&index=nope")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("no index named 'nope'")
    page.get_by_role("button", name="Dismiss message").click()
    expect(alert).to_be_hidden()


# ---- taxonomies and classify ------------------------------------------------------------------

def classify_indexed(page, video_name: str, taxonomy: str) -> None:
    page.locator("#classify-source-indexed").check()
    option = page.locator("#classify-video option", has_text=video_name).first
    page.locator("#classify-video").select_option(option.get_attribute("value"))
    page.locator("#classify-taxonomy").select_option(taxonomy)
    page.locator("#classify-submit").click()


def bar_labels(page) -> list[str]:
    return page.get_by_test_id("label-bar").evaluate_all("bars => bars.map(b => b.dataset.label)")


def test_a_label_added_in_the_editor_changes_the_next_classify(page, site):
    page.goto("/?view=taxonomies")
    page.locator("#tax-new-name").fill("scenes")
    page.locator("#tax-new-name").press("Enter")
    expect(page.locator("#tax-editor-title")).to_have_text("scenes")
    expect(page).to_have_url(re.compile(r"view=taxonomies&name=scenes"))
    for label in ("cooking dinner", "riding a bike"):
        page.locator("#label-add-name").fill(label)
        page.locator("#label-add-name").press("Enter")
        expect(page.locator(f"#label-rows tr[data-label='{label}']")).to_be_visible()

    page.locator("#nav-classify").click()
    classify_indexed(page, "bikes.mp4", "scenes")
    expect(page.get_by_test_id("label-bar").first).to_be_visible()
    assert sorted(bar_labels(page)) == ["cooking dinner", "riding a bike"]
    assert page.get_by_test_id("timeline-segment").count() == 5  # bikes.mp4: 10 s in 2 s windows

    page.locator("#nav-taxonomies").click()  # back to the taxonomy as it was left
    expect(page.locator("#tax-editor-title")).to_have_text("scenes")
    page.locator("#label-add-name").fill("juggling clowns")
    page.locator("#label-add-name").press("Enter")
    expect(page.locator("#label-rows tr[data-label='juggling clowns']")).to_be_visible()
    # an edit in place is saved when the field is left
    prompts = page.locator("#label-rows tr[data-label='riding a bike'] [data-testid=label-prompts]")
    prompts.fill("people cycling on a road")
    prompts.press("Tab")
    expect(page.get_by_test_id("tax-version")).to_have_text("version 5")
    assert site["engine"].taxonomies.get("scenes").label("riding a bike").prompts == ["people cycling on a road"]
    expect(page.get_by_test_id("history-item")).to_have_count(5)

    page.locator("#nav-classify").click()
    page.locator("#classify-submit").click()
    expect(page.locator("[data-testid=label-bar][data-label='juggling clowns']")).to_be_visible()
    assert sorted(bar_labels(page)) == ["cooking dinner", "juggling clowns", "riding a bike"]
    for pct in page.locator("#classify-bars .bar-pct").all_inner_texts():
        assert re.fullmatch(r"\d+\.\d%", pct), pct

    # a segment of the timeline becomes a few-shot example
    page.get_by_test_id("timeline-segment").nth(1).locator("button").click()
    expect(page.get_by_test_id("segment-detail")).to_be_visible()
    page.get_by_test_id("example-label").select_option("riding a bike")
    page.get_by_test_id("example-add").click()
    expect(page.get_by_test_id("notice")).to_contain_text("as an example of “riding a bike”")
    examples = page.request.get(f"{API}/taxonomies/scenes/examples").json()
    assert [(x["label"], x["start_s"], x["end_s"]) for x in examples] == [("riding a bike", 2.0, 4.0)]


def test_a_chosen_file_is_classified_by_upload(page, sample_videos):
    page.goto("/?view=classify")
    page.locator("#classify-labels").fill("a phone call, a bike ride")
    page.locator("#classify-file").set_input_files(str(sample_videos["carphone_pristine.mp4"]))  # classifies at once
    expect(page.locator("#classify-result-title")).to_have_text("carphone_pristine.mp4")
    assert sorted(bar_labels(page)) == ["a bike ride", "a phone call"]
    total = sum(float(v) for v in page.get_by_test_id("label-bar").evaluate_all("bs => bs.map(b => b.dataset.probability)"))
    assert total == pytest.approx(1.0, abs=1e-6)
    assert page.get_by_test_id("timeline-segment").count() == 2  # 4 s in 2 s windows


# ---- indexes ----------------------------------------------------------------------------------

def test_an_indexing_job_shows_progress_and_its_videos_become_searchable(page, site):
    page.goto("/?view=indexes")
    row = page.locator("[data-testid=index-row][data-name=default]")
    expect(row.get_by_test_id("index-videos-count")).to_have_text("2")
    expect(page.get_by_test_id("job-none")).to_be_hidden()
    page.locator("#job-root").select_option(str(site["archive"]))
    page.locator("#job-sub").fill("new")
    page.locator("#job-start").click()
    job = page.get_by_test_id("job").first
    expect(job).to_be_visible()
    expect(job).to_have_attribute("data-state", "done")
    progress = job.get_by_test_id("job-progress")
    assert progress.evaluate("p => [p.value, p.max]") == [2, 2]
    expect(job.get_by_test_id("job-text")).to_contain_text("2 of 2 files")
    expect(job.get_by_test_id("job-failure")).to_contain_text("broken.mp4")
    expect(row.get_by_test_id("index-videos-count")).to_have_text("3")
    expect(page.get_by_test_id("notice")).to_contain_text("searchable")

    page.locator("#nav-search").click()
    page.locator("#search-q").fill("a man on the phone in a car")
    page.locator("#search-q").press("Enter")
    expect(cards(page).locator("[data-testid=result-name]", has_text="carphone_pristine.mp4")).to_be_visible()


def test_without_allowed_roots_the_page_explains_why_it_cannot_index(browser, site):
    app = site["create_app"](site["engine"], site["config"]())
    with serving(app) as url:
        context = browser.new_context(base_url=url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto("/?view=indexes")
        expect(page.get_by_test_id("job-none")).to_be_visible()
        expect(page.get_by_test_id("job-none")).to_contain_text("--allow-root")
        expect(page.get_by_test_id("job-form")).to_be_hidden()
        context.close()
