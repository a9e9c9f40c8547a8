"""The dashboard page at /dashboard: filters and a time range for the whole page, headline tiles, native plots,
the runs table with paging, a run's detail, and the backend's status; refreshed by a button and a timer.

A click on a table row opens that run (its stage tree, then each stage); a brush over a plot of time narrows the
page to that time, a model picked in a model plot filters by that model, an outcome in the escalation plot by
that outcome; confidences or stages picked in their plots narrow the runs table to the runs behind them.
Everything comes from `services.dashboard`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from workspace.services import Services
from workspace.ui import dashboard_view as view
from workspace.ui.errors import shown_errors

PAGE_SIZE = 25
REFRESH_S = 30
CUSTOM = "Custom"
CSS = """
#dash-tiles { gap: 12px; flex-wrap: wrap; }
.dash-tile { flex: 1 1 120px; min-height: 64px; white-space: pre-line; text-align: left; font-size: 1.1em; }
.dash-tile::first-line { font-size: 0.8em; opacity: 0.75; }
"""


def build(services: Services) -> dict[str, Any]:
    dashboard = services.dashboard
    gr.Markdown("## Dashboard — what the pipeline and the models did")
    with gr.Row():
        span = gr.Dropdown([*view.RANGES, CUSTOM], value="Last 7 days", label="Time range", elem_id="dash-range")
        since = gr.Textbox(label="Since (ISO 8601 or Unix seconds)", elem_id="dash-since", visible=False)
        until = gr.Textbox(label="Until", elem_id="dash-until", visible=False)
        profile = gr.Dropdown([("Any", "")], value="", label="Profile", elem_id="dash-profile")
        kind = gr.Dropdown([("Any", ""), "pipeline", "chat", "study"], value="", label="Kind", elem_id="dash-kind")
        model = gr.Dropdown([("Any", "")], value="", label="Model", elem_id="dash-model", allow_custom_value=True)
        outcome = gr.Dropdown([("Any", ""), "passed", "unverified", "failed", "cancelled", "error"], value="",
                              label="Outcome", elem_id="dash-outcome")
        refresh = gr.Button("Refresh", elem_id="dash-refresh", scale=0)
    status = gr.Markdown(elem_id="dash-status")
    with gr.Row(elem_id="dash-tiles"):  # each tile opens the runs behind its figure
        tiles = [gr.Button(name, elem_classes="dash-tile", variant="secondary") for name in view.TILES]
    with gr.Row():
        volume = gr.LinePlot(x="time", y="runs", color="kind", title="Runs over time (brush to narrow the page)",
                             elem_id="plot-volume")
        errors = gr.LinePlot(x="time", y="errors", color="kind", title="Errors over time", elem_id="plot-errors")
        escalation_time = gr.LinePlot(x="time", y="runs", color="series", title="Escalations over time",
                                      elem_id="plot-escalation-time")
    with gr.Row():
        latency = gr.ScatterPlot(x="model", y="seconds", color="percentile", title="Latency percentiles per model",
                                 elem_id="plot-latency", y_lim=[0, None])
        ttft = gr.BarPlot(x="model", y="seconds", title="Time to first token per model (mean)", elem_id="plot-ttft",
                           y_lim=[0, None])
        speed = gr.BarPlot(x="model", y="tokens_per_second", title="Tokens per second by model",
                           elem_id="plot-speed", y_lim=[0, None])
    with gr.Row():
        tokens = gr.BarPlot(x="model", y="tokens", color="direction", title="Tokens by model", elem_id="plot-tokens")
        confidence = gr.BarPlot(x="confidence", y="runs", color="outcome", title="Confidence by outcome",
                                elem_id="plot-confidence")
        escalation = gr.BarPlot(x="outcome", y="runs", color="escalation",
                                title="Did escalation change the outcome?", elem_id="plot-escalation")
        stages = gr.BarPlot(x="stage", y="seconds", title="Time per stage (mean)", elem_id="plot-stages",
                            y_lim=[0, None])
    gr.Markdown("### Runs — click a row to open it; pick bars in a plot to see the runs behind them")
    with gr.Row():
        stage = gr.Textbox(label="Runs with a stage named", elem_id="dash-stage", placeholder="e.g. judge")
        confidence_box = gr.Textbox(label="Runs with confidence", elem_id="dash-confidence", placeholder="e.g. 40-59")
    table = gr.DataFrame(headers=view.TABLE_COLUMNS, interactive=False, elem_id="dash-runs", wrap=True)
    with gr.Row():
        previous = gr.Button("← Newer", elem_id="dash-prev", scale=0)
        page_label = gr.Markdown(elem_id="dash-page")
        following = gr.Button("Older →", elem_id="dash-next", scale=0)
    offset = gr.State(0)
    run_id = gr.Textbox(label="Run id", elem_id="dash-run-id", placeholder="Click a row, or paste a run id")
    detail = gr.Markdown(elem_id="dash-run-detail")
    with gr.Accordion("Backend status", open=False):
        backend = gr.Markdown(elem_id="dash-backend")
    timer = gr.Timer(REFRESH_S)

    filters = [span, since, until, profile, kind, model, outcome, stage, confidence_box]
    plots = [volume, errors, escalation_time, latency, ttft, speed, tokens, confidence, escalation, stages]
    outputs = [status, *tiles, *plots, table, page_label, profile, model, backend]

    def _filters(span_: str, since_: str, until_: str, profile_: str, kind_: str, model_: str, outcome_: str
                 ) -> dict[str, Any]:
        start, end = view.time_range(span_, since_, until_)
        return {"profile_id": profile_, "kind": kind_, "model": model_, "outcome": outcome_, "since": start,
                "until": end}

    @shown_errors
    def load(span_, since_, until_, profile_, kind_, model_, outcome_, stage_, confidence_, offset_):
        chosen = _filters(span_, since_, until_, profile_, kind_, model_, outcome_)
        stats = dashboard.stats(**chosen)
        low, high = view.confidence_bounds(confidence_)  # these two narrow the table only, not the plots
        page = dashboard.history(PAGE_SIZE, offset_, **chosen, stage=stage_.strip(), confidence_min=low,
                                 confidence_max=high)
        names = {p.id: p.name for p in services.store.list_profiles()}
        frames = view.plots(stats)
        options = dashboard.options()
        last = min(offset_ + PAGE_SIZE, page["total"])
        note = f" · {page['skipped_lines']} damaged history line(s) skipped" if page["skipped_lines"] else ""
        note += view.index_note(stats["index"])
        return (f"{stats['tiles']['runs']:,} run(s) in the range, by {stats['bucket']}{note}", *view.tiles(stats),
                *(frames[k] for k in ("volume", "errors", "escalation_time", "latency", "ttft", "speed", "tokens",
                                      "confidence", "escalation", "stages")),
                view.table(page["runs"], names),
                f"{offset_ + 1 if page['total'] else 0}–{last} of {page['total']:,}",
                gr.Dropdown(choices=[("Any", ""), *((names.get(p, p), p) for p in options["profiles"])],
                            value=profile_),
                gr.Dropdown(choices=[("Any", ""), *options["models"]], value=model_),
                view.backend(dashboard.backend_status()))

    def first_page(*values):
        return 0, *load(*values, 0)

    def turn_page(step: int):
        def turn(*values):
            *chosen, offset_ = values
            new = max(0, offset_ + step)
            return new, *load(*chosen, new)
        return turn

    @shown_errors
    def open_run(run: str) -> str:
        return view.run_detail(dashboard.run(run.strip())) if run and run.strip() else ""

    def row_clicked(frame, evt: gr.SelectData) -> str:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return str(frame.iloc[row]["run_id"]) if 0 <= row < len(frame) else ""

    def _picked(evt: gr.SelectData) -> list[Any]:
        return list(evt.index) if isinstance(evt.index, (list, tuple)) else [evt.index]

    def plot_selected(evt: gr.SelectData):
        """A brush over time narrows the range; a model picked in a model plot filters by it."""
        picked = _picked(evt)
        if picked and all(isinstance(v, (int, float)) for v in picked):
            return CUSTOM, str(min(picked)), str(max(picked)), gr.skip()
        models = [v for v in picked if isinstance(v, str)]
        return (gr.skip(),) * 3 + (models[0] if models else gr.skip(),)

    def outcome_selected(evt: gr.SelectData):
        """An outcome picked in the escalation plot: the pipeline runs that ended so."""
        outcomes = [v for v in _picked(evt) if v in view.OUTCOMES]
        return ("pipeline", outcomes[0]) if len(outcomes) == 1 else (gr.skip(), gr.skip())

    def confidence_selected(evt: gr.SelectData):
        return view.picked_confidence(_picked(evt)) or gr.skip()

    def stage_selected(evt: gr.SelectData):
        stages = [v for v in _picked(evt) if isinstance(v, str)]
        return stages[0] if len(stages) == 1 else gr.skip()

    span.change(lambda s: (gr.Textbox(visible=s == CUSTOM),) * 2, span, [since, until], queue=False,
                api_name=False)
    reload_page = dict(fn=first_page, inputs=filters, outputs=[offset, *outputs], api_name=False)
    for control in (span, profile, kind, model, outcome):
        control.input(**reload_page)
    for box in (since, until, stage, confidence_box):
        box.submit(**reload_page)
    refresh.click(**reload_page)
    timer.tick(load, [*filters, offset], outputs, api_name=False, show_progress="hidden")
    previous.click(turn_page(-PAGE_SIZE), [*filters, offset], [offset, *outputs], api_name=False)
    following.click(turn_page(PAGE_SIZE), [*filters, offset], [offset, *outputs], api_name=False)
    table.select(row_clicked, table, run_id, api_name=False).then(open_run, run_id, detail, api_name=False)
    run_id.submit(open_run, run_id, detail, api_name=False)
    for plot in (volume, errors, escalation_time, latency, ttft, speed, tokens):
        plot.select(plot_selected, None, [span, since, until, model], api_name=False).then(**reload_page)
    escalation.select(outcome_selected, None, [kind, outcome], api_name=False).then(**reload_page)
    confidence.select(confidence_selected, None, confidence_box, api_name=False).then(**reload_page)
    stages.select(stage_selected, None, stage, api_name=False).then(**reload_page)
    for name, tile in zip(view.TILES, tiles, strict=True):
        picked = view.TILE_FILTERS.get(name, view.EVERY_RUN)
        tile.click(lambda p=picked: p, None, [kind, outcome, stage, confidence_box], api_name=False).then(
            **reload_page)
    return reload_page  # the page's load event (registered by the caller, on the page's own Blocks)
