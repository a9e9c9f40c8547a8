"""The script that runs inside the sandbox next to a candidate: loads it, runs the probes, prints one JSON.

Kept as source text (it is written into the sandbox's folder as `main.py`), with the candidate as
`solution.py` and the probes as `probes.json`. Every call gets its own time budget (SIGALRM), the
candidate's own prints are swallowed, and values are normalised (floats rounded, long reprs cut) so
that candidates can be compared by their outputs.
"""

from __future__ import annotations

MARKER = "@@HARNESS@@"

SOURCE = r'''
import contextlib, io, json, math, signal, sys

REAL_STDOUT = sys.stdout
MARKER = "@@HARNESS@@"
spec = json.load(open("probes.json", encoding="utf-8"))


class OverBudget(Exception):
    pass


def _alarm(signum, frame):
    raise OverBudget("took longer than %s s" % spec["per_call_s"])


signal.signal(signal.SIGALRM, _alarm)


def limited(fn):
    signal.setitimer(signal.ITIMER_REAL, spec["per_call_s"])
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def norm(value, depth=0):
    if depth > 20:
        return value
    if isinstance(value, float):
        return value if math.isnan(value) or math.isinf(value) else round(value, 9)
    if isinstance(value, (list, tuple)):
        return type(value)(norm(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: norm(v, depth + 1) for k, v in value.items()}
    return value


def show(value):
    text = repr(norm(value))
    return text if len(text) <= 300 else text[:300] + "..."


def same(got, expected):
    if isinstance(got, float) or isinstance(expected, float):
        try:
            return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    return norm(got) == norm(expected)


def raised(exc):
    return ("raised %s: %s" % (type(exc).__name__, exc))[:300]


result = {"load": None, "examples": [], "tests": [], "outputs": [], "over_budget": 0}
namespace = {"__name__": "solution"}
sink = io.StringIO()
with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
    try:
        source = open("solution.py", encoding="utf-8").read()
        limited(lambda: exec(compile(source, "solution.py", "exec"), namespace))
    except BaseException as exc:
        result["load"] = raised(exc)
    alias = spec.get("alias")
    if result["load"] is None and alias and alias[0] not in namespace and alias[1] in namespace:
        namespace[alias[0]] = namespace[alias[1]]  # the probes call a name the code does not define
    if result["load"] is None:
        for example in spec["examples"]:
            try:
                got = limited(lambda: eval(example["call"], namespace))
                expected = eval(example["expected"], {})
                result["examples"].append({"passed": bool(same(got, expected)), "got": show(got)})
            except BaseException as exc:
                result["over_budget"] += isinstance(exc, OverBudget)
                result["examples"].append({"passed": False, "got": raised(exc)})
        for test in spec["tests"]:
            try:
                limited(lambda: exec(test, dict(namespace)))
                result["tests"].append({"passed": True, "detail": ""})
            except BaseException as exc:
                result["over_budget"] += isinstance(exc, OverBudget)
                result["tests"].append({"passed": False, "detail": raised(exc)})
        for call in spec["inputs"]:
            try:
                result["outputs"].append(show(limited(lambda: eval(call, namespace))))
            except BaseException as exc:
                result["over_budget"] += isinstance(exc, OverBudget)
                result["outputs"].append("raised " + type(exc).__name__)
REAL_STDOUT.write("\n" + MARKER + json.dumps(result) + "\n")
REAL_STDOUT.flush()
'''
