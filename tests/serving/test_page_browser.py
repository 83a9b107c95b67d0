"""The page at `/` of `imr serve`, driven in a real headless Chromium (Debian's `chromium`, found
by the `chromium` fixture of tests/conftest.py): the form is filled and submitted like a user would, and the calibrated
probability, the base rate, its band and answer (never a label that contradicts the probability, never a
decision), the model's trust sentence, the reasons with their effects in percentage points (one neutral
colour for both directions), precedents from distinct cases with their expandable rationale, the "no close
precedent" note where nothing is close, and the reviewer criteria must appear. Chromium is driven over the
DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so no driver package is needed.
Screenshots at desktop and phone width go to test-artifacts/page/ (IMR_TEST_ARTIFACTS moves it)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from browser import ARTIFACTS as ARTIFACTS_ROOT
from browser import free_port

from serving.http import create_app

pytestmark = pytest.mark.browser
ARTIFACTS = ARTIFACTS_ROOT / "page"


def _onto_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: the pipe ends as fds 3 and 4 (inheritable copies; Python's own fds are not
    inherited). Copied high first, so neither end can be overwritten by the other's dup2."""
    read_copy, write_copy = os.dup(read_end), os.dup(write_end)
    os.dup2(read_copy, 3)
    os.dup2(write_copy, 4)


class DevTools:
    """The smallest DevTools-protocol client: one page, commands answered in order."""

    def __init__(self, browser: str, profile: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        self.process = subprocess.Popen(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _onto_3_and_4(to_chrome_r, from_chrome_w),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer, self._next, self.session = b"", 0, None

    def send(self, method: str, params: dict | None = None, session: bool = True) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_chrome, 1 << 20)
                assert chunk, "chromium closed the DevTools pipe"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._next:
                assert "error" not in answer, answer["error"]
                return answer["result"]

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && document.getElementById('model').textContent !== ''")

    def js(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 30):
        deadline = time.monotonic() + seconds
        while not self.js(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.1)

    def screenshot(self, path: Path, width: int, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        data = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        os.close(self._to_chrome)
        os.close(self._from_chrome)


@pytest.fixture(scope="module")
def served(baseline_store):
    """The session's baseline served by the real app (uvicorn on a free port) for the module."""
    from serving.predictor import load_predictor

    result = baseline_store.result
    predictor = load_predictor(result.model_uri)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(None, predictor=predictor), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", predictor
    server.should_exit = True
    thread.join(timeout=30)


def assert_the_answer_matches_the_probability(browser: DevTools, expected: dict) -> None:
    """The band shown is the API's, and no label on the page contradicts the probability: nothing says
    "higher than usual" below the base rate (or "lower than usual" above it), and there is no decision."""
    band = browser.js("document.querySelector('#results .band')?.textContent || ''")
    answer = browser.js("document.querySelector('#results .answer').textContent")
    assert band == expected["band"] and answer == expected["answer"]
    p, base = expected["p_overturned"], expected["base_rate"]
    if p < base:
        assert band != "higher than usual" and "higher than usual" not in answer
    if p > base:
        assert band != "lower than usual" and "lower than usual" not in answer
    head = browser.js("[...document.querySelectorAll('#results article > p')].map(e => e.textContent).join(' | ')")
    assert "Predicted decision" not in head and "Overturned" not in head


def fill(browser: DevTools, field: str, value: str) -> None:
    browser.js(
        f"(() => {{ const f = document.getElementById({json.dumps(field)}); f.focus(); "
        f"f.value = {json.dumps(value)}; f.dispatchEvent(new Event('input', {{bubbles: true}})); }})()"
    )


def test_the_page_scores_a_request_with_reasons_and_precedents(chromium, served, tmp_path):
    base, predictor = served
    summary = (
        "The injured worker has chronic low back pain radiating to the left leg after lifting at work. "
        "Conservative care with physical therapy and medications failed. Examination shows decreased "
        "sensation in the L5 dermatome and a positive straight leg raise on the left side."
    )
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        browser.open(f"{base}/")
        trust = predictor.info()["trust"]
        assert trust.startswith("Tested on ") and trust in browser.js("document.getElementById('model').textContent")
        labels = browser.js("[...document.querySelectorAll('label')].map(l => l.htmlFor)")
        assert {
            "treatment",
            "case_summary",
            "claims_administrator_guideline",
            "patient_age",
            "patient_sex",
            "date_of_injury",
            "letter",
        } <= set(labels)
        fill(browser, "treatment", "MRI of the lumbar spine without contrast")
        fill(browser, "case_summary", summary)
        fill(browser, "claims_administrator_guideline", "ACOEM low back chapter")
        fill(browser, "patient_age", "48")
        fill(browser, "patient_sex", "male")
        fill(browser, "date_of_injury", "2015-03-02")
        browser.js("document.getElementById('score-request').click()")
        browser.wait_for("document.querySelector('#results .probability') !== null")
        shown = browser.js("document.querySelector('#results .probability').textContent")
        expected = predictor.predict(
            [
                {
                    "treatment": "MRI of the lumbar spine without contrast",
                    "case_summary": summary,
                    "claims_administrator_guideline": "ACOEM low back chapter",
                    "patient_age": 48,
                    "patient_sex": "male",
                    "days_since_injury": browser.js("Math.floor((Date.now() - Date.parse('2015-03-02')) / 86400000)"),
                }
            ]
        )[0]
        assert shown == f"{100 * expected['p_overturned']:.1f}%"
        text = browser.js("document.getElementById('results').innerText")
        assert f"base rate of {100 * expected['base_rate']:.1f}%" in text
        assert browser.js("document.querySelector('#results .trust').textContent") == f"How far to trust it: {trust}"
        assert_the_answer_matches_the_probability(browser, expected)
        assert browser.js("document.querySelectorAll('#results li.precedent').length") >= 1
        assert browser.js("document.querySelectorAll('#results li.precedent details summary').length") >= 1
        check_precedents_are_distinct_cases(browser)
        check_reasons_in_points_and_neutral(browser)
        # reviewer criteria: how often cited in upheld and overturned items, and whether the summary documents it
        criteria = browser.js("[...document.querySelectorAll('#results li.criterion')].map(li => li.textContent)")
        assert criteria and all(" upheld and " in c and "overturned items; " in c for c in criteria)
        assert any("case summary" in c for c in criteria)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.js("document.querySelector('#results details').open = true")
        browser.screenshot(ARTIFACTS / "score_desktop.png", 1200, 900)
        browser.screenshot(ARTIFACTS / "score_phone.png", 390, 844)
        # readable at phone width: nothing wider than the screen
        assert browser.js("document.documentElement.scrollWidth") <= 390
        # a request unlike the training letters shows the out-of-distribution flag with its reason
        browser.js("document.getElementById('results').replaceChildren()")
        fill(browser, "treatment", "asdf qwerty")
        fill(browser, "case_summary", "")
        browser.js("document.getElementById('score-request').click()")
        browser.wait_for("document.querySelector('#results .probability') !== null")
        flag = browser.js("document.querySelector('#results .ood')?.textContent || ''")
        assert flag.startswith("Out of distribution: treatment:") and "capped at the base rate" in flag
        capped = predictor.predict([{"treatment": "asdf qwerty"}])[0]
        assert capped["p_overturned"] <= capped["base_rate"]
        assert_the_answer_matches_the_probability(browser, capped)
        browser.screenshot(ARTIFACTS / "score_out_of_distribution.png", 1200, 900)
        # nothing in the index is like it: no filler, a note that says so
        assert browser.js("document.querySelectorAll('#results li.precedent').length") == 0
        note = browser.js("document.querySelector('#results .precedents-note')?.textContent || ''")
        assert note.startswith("No close precedent in the ") and "decided items" in note
        browser.screenshot(ARTIFACTS / "no_close_precedent_desktop.png", 1200, 900)
    finally:
        browser.close()


def check_precedents_are_distinct_cases(browser: DevTools) -> None:
    shown = browser.js("[...document.querySelectorAll('#results li.precedent span')].map(s => s.textContent)")
    cases = [re.search(r"\(([^,]+),", text).group(1) for text in shown]
    numbered = [c for c in cases if c != "no case number"]
    assert cases and len(numbered) == len(set(numbered))


def check_reasons_in_points_and_neutral(browser: DevTools) -> None:
    """Each reason says its effect in points; raising and lowering share one neutral colour (neither is
    the good or the bad side for the reader); no reason is a bare token."""
    from serving.reason_stoplist import bare

    reasons = browser.js("[...document.querySelectorAll('#results li.reason')].map(li => li.textContent)")
    assert reasons and all(re.match(r"^[\u25B2\u25BC] [+\u2212]\d+\.\d points", r) for r in reasons)
    texts = browser.js("[...document.querySelectorAll('#results li.reason')].map(li => li.children[1].textContent)")
    assert not [t for t in texts if bare(t.split(": ", 1)[-1])]
    colours = browser.js("[...document.querySelectorAll('#results li.reason')].map(li => getComputedStyle(li).color)")
    directions = browser.js(
        "[...document.querySelectorAll('#results li.reason')].map(li => li.classList.contains('up'))"
    )
    assert len(set(colours)) == 1, colours  # the same colour whichever way a reason points
    red, green, blue = (int(v) for v in re.findall(r"\d+", colours[0])[:3])
    assert max(red, green, blue) - min(red, green, blue) <= 24  # a grey, not a red or a green
    assert set(directions) <= {True, False}


def test_the_page_scores_an_uploaded_letter(chromium, served, small_corpus, tmp_path):
    base, _ = served
    letter = sorted(small_corpus.glob("*.pdf"))[0]
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        browser.open(f"{base}/")
        root = browser.send("DOM.getDocument")["root"]["nodeId"]
        node = browser.send("DOM.querySelector", {"nodeId": root, "selector": "#letter"})["nodeId"]
        browser.send("DOM.setFileInputFiles", {"files": [str(letter)], "nodeId": node})
        browser.js("document.getElementById('score-letter').click()")
        browser.wait_for("document.querySelector('#results .probability') !== null")
        text = browser.js("document.getElementById('results').innerText")
        assert "The letter's decision:" in text and "Item 1:" in text
        assert "Predicted decision" not in text
        cases = browser.js("[...document.querySelectorAll('#results li.precedent span')].map(s => s.textContent)")
        assert cases and not any(letter.stem in c for c in cases)  # never its own precedent
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(ARTIFACTS / "letter_desktop.png", 1200, 900)
    finally:
        browser.close()


def test_the_page_needs_no_external_assets(served):
    import urllib.request

    base, _ = served
    with urllib.request.urlopen(f"{base}/") as response:
        html = response.read().decode()
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "http://" not in html and "https://" not in html and "<link" not in html and " src=" not in html


def test_the_page_shows_what_would_change_the_answer(chromium, served, tmp_path):
    """The what-if section: its note (an association, not a promise) and, per cited criterion the summary
    lacks, the probability with the tested sentence, as the API answers it."""
    base, predictor = served
    request = {"treatment": "Physical therapy 2x6 lumbar spine", "case_summary": "Low back pain for a year."}
    expected = predictor.predict([request], explain=True)[0]["what_if"]
    tested = [w for w in expected["criteria"] if w["sentence"] is not None]
    assert tested, "the small corpus's table cites criteria for physical therapy"
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        browser.open(f"{base}/")
        fill(browser, "treatment", request["treatment"])
        fill(browser, "case_summary", request["case_summary"])
        browser.js("document.getElementById('score-request').click()")
        browser.wait_for("document.querySelector('#results .what-if') !== null")
        section = browser.js("document.querySelector('#results .what-if').innerText")
        assert "What would change the answer" in section and expected["note"] in section
        assert "not a promise" in section
        items = browser.js("[...document.querySelectorAll('#results li.what-if-criterion')].map(li => li.innerText)")
        assert len(items) == len(expected["criteria"])
        for shown, entry in zip(items, expected["criteria"]):
            assert shown.startswith(entry["label"])
            if entry["sentence"] is not None:
                assert f"{100 * entry['p_overturned_if_documented']:.1f}%" in shown and entry["sentence"] in shown
                assert f"{abs(100 * entry['change']):.1f} points from" in shown
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.js("document.querySelector('#results .what-if').scrollIntoView()")
        browser.screenshot(ARTIFACTS / "what_if_desktop.png", 1200, 900)
    finally:
        browser.close()
