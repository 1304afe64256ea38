"""Issue 28 as a new user tries it: a sources file naming two feeds on a loopback web site
(and one broken feed) is followed by `summit watch`, a real process; the second round finds
nothing new and says so (304s counted); a story added to a feed while `summit serve`'s app
runs is answered in /chat with its citation, and a syndicated reprint is stored once, its
outlet shown as "also in". The real model, a real Chroma store on disk, real HTTP."""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.servers import running_server
from tests.web_site import WebSite, web_site

pytestmark = pytest.mark.e2e
SUMMIT = Path(sys.executable).with_name("summit")

HARBOUR = [
    "Busan, November 20 — The leaders of South Korea and Japan met at the Busan harbour "
    "terminal on Friday for their third meeting this year.",
    "The two sides agreed to run a night ferry between Busan and Fukuoka from next spring, "
    "and to share weather data for the strait every hour.",
    "Officials said the ferry would carry 400 passengers and leave Busan at ten in the evening.",
]
FISHERIES = [
    "Tokyo, November 21 — Fisheries ministers of both countries signed a quota agreement for "
    "the waters around the disputed rocks, ending two years of talks.",
    "Under the deal each fleet may land 60,000 tonnes of squid a year, and inspectors from "
    "both coast guards will board vessels together.",
]
HYDROGEN = [
    "Fukuoka, November 24 — The two governments will open a joint hydrogen research centre in "
    "Kitakyushu in April 2027, the trade ministries announced on Monday.",
    "The centre will employ 120 engineers and test fuel cells for container ships crossing "
    "the strait.",
]


def page(title: str, paragraphs: list[str], outlet: str, published: str, url: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="en"><head><title>{title}</title>'
        f'<meta property="og:site_name" content="{outlet}">'
        f'<meta property="article:published_time" content="{published}">'
        f'<link rel="canonical" href="{url}"></head><body><nav>Home · World · Asia</nav>'
        f"<article><h1>{title}</h1>{body}</article><footer>© {outlet}</footer></body></html>"
    )


def rss(outlet: str, links: list[str]) -> str:
    items = "".join(f"<item><title>Story</title><link>{link}</link></item>" for link in links)
    channel = f"<channel><title>{outlet}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def publish(site: WebSite, path: str, title: str, text: list[str], outlet: str, day: str) -> str:
    return site.page(path, page(title, text, outlet, day, site.url + path))


@pytest.fixture
def site() -> Iterator[WebSite]:
    with web_site() as running:
        yield running


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SUMMIT_")}
    environment.update(SUMMIT_STORE=str(tmp_path / "store"), SUMMIT_FETCH_DELAY_SECONDS="0")
    return environment


def summit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(SUMMIT), *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done


def ask(url: str, question: str) -> dict[str, object]:
    response = httpx.post(f"{url}/chat", json={"message": question}, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def cited_sources(answer: dict[str, object]) -> list[str]:
    return [c["source"] for c in answer["citations"]]  # type: ignore[attr-defined]


def test_two_feeds_are_followed_and_a_new_story_reaches_chat(
    tmp_path: Path, site: WebSite, env: dict[str, str]
) -> None:
    harbour = publish(site, "/wire/harbour", "Night ferry agreed", HARBOUR, "Wire", "2026-11-20")
    fisheries = publish(site, "/wire/fish", "Squid quota", FISHERIES, "Wire", "2026-11-21")
    reprint = publish(site, "/daily/ferry", "Ferry deal", HARBOUR, "Daily Post", "2026-11-21")
    site.feed("/wire/rss", rss("Wire", [harbour, fisheries]), etag='"w1"')
    site.feed("/daily/rss", rss("Daily Post", [reprint]), etag='"d1"')
    site.page("/broken/rss", "upstream down", status=500)
    sources = tmp_path / "sources.toml"
    feeds = [site.url + p for p in ("/wire/rss", "/daily/rss", "/broken/rss")]
    sources.write_text(f"feeds = {json.dumps(feeds)}\n")

    watched = summit(env, "watch", str(sources), "--rounds", "2", "--interval", "0", "--json")
    first, second = (json.loads(line) for line in watched.stdout.splitlines())
    assert (first["report"]["added"], first["report"]["fetched"]) == (2, 5)
    assert [n["path"] for n in first["report"]["near_duplicates"]] == [reprint]
    assert [(s["path"], s["reason"]) for s in first["report"]["skipped"]] == [
        (site.url + "/broken/rss", "HTTP 500")
    ]
    assert (second["report"]["added"], second["report"]["fetched"]) == (0, 0)
    assert second["report"]["not_modified"] == 2
    text = summit(env, "ingest", "--sources", str(sources)).stdout
    assert "Web: 0 fetched, 2 not modified (304)" in text
    assert [line for line in text.splitlines() if "broken" in line] == [
        f"skipped {site.url}/broken/rss: HTTP 500"
    ]

    settings = Settings.of(store=tmp_path / "store", refresh_seconds=0.5)
    with running_server(settings) as server:
        ferry = ask(server.url, "How many passengers will the night ferry carry?")
        assert ferry["answered"] and "400" in str(ferry["answer"]), ferry
        cited = [c for c in ferry["citations"] if c["source"] == harbour]  # type: ignore[attr-defined]
        assert cited and cited[0]["outlet"] == "Wire"
        assert [(c["outlet"], c["source"]) for c in cited[0]["also_in"]] == [
            ("Daily Post", reprint)
        ]

        hydrogen = publish(site, "/wire/h2", "Hydrogen centre", HYDROGEN, "Wire", "2026-11-24")
        site.feed("/wire/rss", rss("Wire", [hydrogen, harbour, fisheries]), etag='"w2"')
        summit(env, "ingest", "--sources", str(sources))
        deadline = time.monotonic() + 60
        while hydrogen not in cited_sources(
            answer := ask(server.url, "Where will the joint hydrogen research centre open?")
        ):
            assert time.monotonic() < deadline, answer
            time.sleep(0.5)
        assert answer["answered"] and "Kitakyushu" in str(answer["answer"])
