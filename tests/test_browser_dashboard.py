"""The dashboard page in a real browser (Debian's chromium via Playwright) against the real app and model:
a pipeline run made over REST shows in the runs table, the tiles and plots render, a click on its row
opens its stage tree and stages; a screenshot of the page is saved in the test's output folder (with
SCREENSHOTS=1, also the README's dashboard.png)."""

from __future__ import annotations

import httpx

from tests.test_browser import DESKTOP, page, shoot  # noqa: F401 — the shared browser fixture

ADD_TASK = "Write a Python function `add(a, b)` that returns a + b.\n>>> add(2, 3)\n5"


def test_dashboard_shows_runs_plots_and_a_runs_stages(page, running_app, tmp_path):  # noqa: F811
    url, _ = running_app
    with httpx.Client(base_url=url + "/api", timeout=600) as api:
        profile = api.post("/profiles", json={"name": "Dashboard browser"}).json()["id"]
        run = api.post("/code", json={"task": ADD_TASK, "profile_id": profile}).json()
    run_id = run["run_id"]
    page.locator("a.ws-nav", has_text="Dashboard").click()  # the header's navigation opens the page
    page.wait_for_url(url + "/dashboard")
    page.wait_for_function(f"() => document.querySelector('#dash-runs')?.innerText.includes('{run_id}')")
    assert "Runs" in page.locator("#dash-tiles").inner_text()
    for plot in ("#plot-volume", "#plot-stages", "#plot-latency", "#plot-tokens"):
        page.wait_for_selector(f"{plot} svg")  # vega drew it
    shoot(page, "dashboard", DESKTOP)
    page.locator(f"#dash-runs :text('{run_id}') >> visible=true").first.click()  # a hidden copy sizes the columns
    page.wait_for_function("() => document.querySelector('#dash-run-detail')?.innerText.includes('Stages')")
    detail = page.locator("#dash-run-detail").inner_text()
    assert run_id in detail and "coder" in detail and "Task" in detail
    assert "Stage tree" in detail and "█" in detail  # the run's stages as a tree with time bars
    assert ("Verdict" in detail) == (run["outcome"] in ("passed", "failed", "unverified"))
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    print(f"screenshot: {tmp_path / 'dashboard.png'}")
