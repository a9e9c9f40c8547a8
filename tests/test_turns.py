"""Turn mechanics with a scripted stream: saving while streaming, stop, failures, followers."""

import threading

from workspace import turns
from workspace.llm import BackendUnavailable, Delta, Final
from workspace.turns import Turn, run_turn


class ScriptedStream:
    """An iterator of model items that can block between items and records being closed."""

    def __init__(self, items, gate: threading.Event | None = None):
        self.items, self.gate, self.closed = list(items), gate, False

    def __iter__(self):
        return self

    def __next__(self):
        if self.gate is not None:
            self.gate.wait(5)
            self.gate.clear()
        if not self.items:
            raise StopIteration
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        self.closed = True


def run(turn, stream, saved):
    run_turn(turn, lambda: stream, saved.append)


def test_a_complete_turn_saves_text_stats_and_ok():
    saved, stream = [], ScriptedStream([Delta("Hel"), Delta("lo"), Final("stop", {"eval_count": 2})])
    turn = Turn("c1", "m1", "model")
    run(turn, stream, saved)
    assert saved[-1].text == "Hello" and saved[-1].status == "ok" and saved[-1].stats == {"eval_count": 2}
    assert turn.finished.is_set() and stream.closed


def test_stop_keeps_what_arrived_and_closes_the_stream():
    gate = threading.Event()
    stream = ScriptedStream([Delta("part"), Delta(" more"), Delta(" never")], gate)
    turn, saved = Turn("c1", "m1", "model"), []
    worker = threading.Thread(target=run, args=(turn, stream, saved))
    worker.start()
    gate.set()  # let the first delta through
    assert next(s for s in turn.follow(poll_s=0.05) if s.text).text == "part"
    turn.stop()
    gate.set()
    worker.join(5)
    assert saved[-1].status == "stopped" and saved[-1].text.startswith("part")
    assert "never" not in saved[-1].text and stream.closed


def test_a_failure_is_stored_with_its_message_and_partial_text():
    stream = ScriptedStream([Delta("abc"), BackendUnavailable("Ollama is not reachable")])
    turn, saved = Turn("c1", "m1", "model"), []
    run(turn, stream, saved)
    assert (saved[-1].status, saved[-1].text, saved[-1].error) == ("failed", "abc", "Ollama is not reachable")


def test_a_stream_without_its_final_record_is_a_failure():
    turn, saved = Turn("c1", "m1", "model"), []
    run(turn, ScriptedStream([Delta("abc")]), saved)
    assert saved[-1].status == "failed"


def test_partial_answers_are_saved_periodically(monkeypatch):
    monkeypatch.setattr(turns, "SAVE_INTERVAL_S", 0.0)
    turn, saved = Turn("c1", "m1", "model"), []
    run(turn, ScriptedStream([Delta("a"), Delta("b"), Final("stop")]), saved)
    assert [s.status for s in saved[:-1]] == ["streaming", "streaming"]
    assert [s.text for s in saved] == ["a", "ab", "ab"]


def test_followers_see_growth_and_the_end():
    gate = threading.Event()
    turn, saved = Turn("c1", "m1", "model"), []
    stream = ScriptedStream([Delta("x"), Delta("y"), Final("stop")], gate)
    worker = threading.Thread(target=run, args=(turn, stream, saved))
    worker.start()
    seen = []
    for snapshot in turn.follow(poll_s=0.05):
        seen.append(snapshot)
        gate.set()
    worker.join(5)
    assert seen[-1].status == "ok" and seen[-1].text == "xy"
