"""PNG screenshots of the chat page after asking questions, at desktop and phone width.

    python tools/screenshot.py [--out screenshots/] [--store DIR]
                                          [--question Q ...] [--dark]

Starts its own server on a free port of 127.0.0.1, as tests/test_e2e_web.py does (the real
embedding model; a new store gets the bundled corpus first, 10-20 s), drives the headless
Chromium at /usr/bin/chromium, asks the questions in one conversation, opens footnote [1]
of the first answer that has one, and writes desktop.png (1280 wide) and phone.png (375
wide) of the whole page, plus desktop-screen.png and phone-screen.png of what the screen
shows at the end of the conversation; with --dark also the *-dark*.png ones.
"""

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from server.settings import Settings  # noqa: E402
from tests.servers import running_server  # noqa: E402
from tests.test_e2e_web import ask, launch_chromium  # noqa: E402

DEFAULT_QUESTIONS = [
    "Where were the remains found?",
    "What analysis will be done on them?",
    "What is the tallest mountain in Africa?",
]
SHOTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"), help="output folder")
    parser.add_argument(
        "--store", type=Path, help="store folder to use (default: a temporary one, ingested)"
    )
    parser.add_argument(
        "--question",
        action="append",
        dest="questions",
        help="a question to ask (repeatable; default: a question, a follow-up, an off-topic one)",
    )
    parser.add_argument("--dark", action="store_true", help="also take dark colour scheme shots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    questions = args.questions or DEFAULT_QUESTIONS
    with tempfile.TemporaryDirectory() as work:
        store = args.store or Path(work) / "store"
        settings = Settings.of(store=store, rate_limit_per_minute=0, api_key=None)
        print(f"starting the server over {store} …", file=sys.stderr)
        with running_server(settings) as server, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                schemes = ["light", "dark"] if args.dark else ["light"]
                for scheme in schemes:
                    for name, viewport in SHOTS.items():
                        suffix = "" if scheme == "light" else f"-{scheme}"
                        path = args.out / f"{name}{suffix}.png"
                        shoot(browser, server.url, questions, viewport, scheme, path)
                        print(path, path.with_name(f"{path.stem}-screen.png"))
            finally:
                browser.close()


def shoot(
    browser: Browser,
    url: str,
    questions: list[str],
    viewport: dict[str, int],
    scheme: str,
    path: Path,
) -> None:
    context = browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        color_scheme=scheme,  # type: ignore[arg-type]
        is_mobile=viewport["width"] < 600,
        device_scale_factor=2 if viewport["width"] < 600 else 1,
        reduced_motion="reduce",  # no smooth scrolling or highlight fading in the shot
    )
    try:
        page = context.new_page()
        page.goto(url)
        turns = [ask(page, question) for question in questions]
        for turn in turns:
            marker = turn.locator(".cite-ref[data-n='1']")
            if marker.count():
                marker.click()
                break
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        page.screenshot(path=str(path.with_name(f"{path.stem}-screen.png")))
        # The whole page: a viewport as tall as the page keeps the sticky message box at
        # the bottom (a full_page shot would paint it where the scrolled viewport ended).
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.screenshot(path=str(path))
    finally:
        context.close()


if __name__ == "__main__":
    main()
