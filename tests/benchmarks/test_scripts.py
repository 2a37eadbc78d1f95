"""The benchmark scripts: each answers ``--help``, none reads data from outside the repository, and those that need
the public evaluation sets refuse clearly when they are not told where the sets are (docs/benchmarks.md,
"Evaluation data")."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if '__name__ == "__main__"' in p.read_text(encoding="utf-8"))


def _load_eval_data():
    spec = importlib.util.spec_from_file_location("kefu_benchmarks_eval_data", BENCHMARKS / "eval_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


eval_data = _load_eval_data()


def _run(script: str, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """Run a benchmark script with none of the data variables set (whatever the caller's environment holds)."""
    env = {k: v for k, v in os.environ.items() if k not in ("KEFU_EVAL_DIR", "KEFU_CIC_DIR")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_scripts_are_found():
    names = {p.name for p in SCRIPTS}
    assert {"kb_eval.py", "kb_cic.py", "kb_latency.py", "load.py", "nlu_cv.py"} <= names, names
    assert "eval_data.py" not in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_works(script: Path):
    result = _run(script.name, "--help")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage:"), result.stdout[:500]


@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.py")), ids=lambda p: p.name)
def test_no_data_outside_the_repository(script: Path):
    text = script.read_text(encoding="utf-8")
    for pattern in (r"shared/eval", r"/work/", r"parent\.parent\.parent", r"parents\[[2-9]\]", r"ROOT\.parent\b"):
        assert not re.search(pattern, text), f"{script.name} reaches outside the repository: {pattern}"


def test_locate_order_of_precedence(tmp_path: Path):
    env = {"KEFU_EVAL_DIR": str(tmp_path / "all"), "KEFU_CIC_DIR": str(tmp_path / "cic-own")}
    assert eval_data.locate(tmp_path / "given", env, own_env="KEFU_CIC_DIR", subdir="cic") == tmp_path / "given"
    assert eval_data.locate(None, env, own_env="KEFU_CIC_DIR", subdir="cic") == tmp_path / "cic-own"
    assert eval_data.locate(None, {"KEFU_EVAL_DIR": str(tmp_path / "all")}, subdir="cic") == tmp_path / "all" / "cic"
    assert eval_data.locate(None, {"KEFU_EVAL_DIR": str(tmp_path / "all")}) == tmp_path / "all"
    assert eval_data.locate(None, {"KEFU_EVAL_DIR": "", "KEFU_CIC_DIR": ""}, own_env="KEFU_CIC_DIR") is None
    assert eval_data.locate(None, {}) is None


def test_require_names_what_is_missing(tmp_path: Path):
    (tmp_path / "banking77").mkdir()
    (tmp_path / "banking77" / "train.csv").write_text("text,category\n", encoding="utf-8")
    assert eval_data.require(tmp_path, ["banking77/train.csv"], "--data") == tmp_path
    with pytest.raises(eval_data.EvalDataMissing, match=r"lacks clinc150/train_val\.json \(give"):
        eval_data.require(tmp_path, ["banking77/train.csv", "clinc150/train_val.json"], "--data")
    with pytest.raises(eval_data.EvalDataMissing, match="does not exist"):
        eval_data.require(tmp_path / "nowhere", ["banking77/train.csv"], "--data")
    with pytest.raises(eval_data.EvalDataMissing, match="no evaluation data folder given: name it with --data"):
        eval_data.require(None, ["banking77/train.csv"], "--data")
    (tmp_path / "clinc150").mkdir()
    (tmp_path / "clinc150" / "train_val.json").mkdir()  # a folder where a file belongs
    with pytest.raises(eval_data.EvalDataMissing, match="clinc150/train_val.json"):
        eval_data.require(tmp_path, ["clinc150/train_val.json"], "--data")


def test_kb_eval_refuses_without_a_data_folder():
    """Even on a machine where the sets lie next to the repository, nothing is read unless named."""
    result = _run("kb_eval.py")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no evaluation data folder given" in result.stderr
    assert "--data DIR or $KEFU_EVAL_DIR" in result.stderr
    assert "banking77/train.csv" in result.stderr


def test_kb_eval_names_the_missing_files(tmp_path: Path):
    (tmp_path / "banking77").mkdir()
    (tmp_path / "banking77" / "train.csv").write_text("text,category\nhi,greet\n", encoding="utf-8")
    result = _run("kb_eval.py", env_extra={"KEFU_EVAL_DIR": str(tmp_path)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "clinc150/train_val.json" in result.stderr and "hint3/curekart_train.csv" in result.stderr
    assert "banking77/train.csv" not in result.stderr.split("lacks", 1)[1]


def test_kb_eval_refuses_an_unknown_set(tmp_path: Path):
    result = _run("kb_eval.py", "--data", str(tmp_path), "--sets", "banking77_10shot,<script>alert(1)</script>")
    assert result.returncode == 2
    assert "unknown set(s) <script>alert(1)</script>" in result.stderr


def test_kb_cic_refuses_without_a_data_folder(tmp_path: Path):
    result = _run("kb_cic.py")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "$KEFU_CIC_DIR or $KEFU_EVAL_DIR" in result.stderr and "train.json, dev.json" in result.stderr
    (tmp_path / "cic").mkdir()
    (tmp_path / "cic" / "train.json").write_text("", encoding="utf-8")
    result = _run("kb_cic.py", env_extra={"KEFU_EVAL_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert f"{tmp_path / 'cic'} lacks dev.json" in result.stderr


def test_kb_cic_refuses_bad_choices_before_loading_anything(tmp_path: Path):
    result = _run("kb_cic.py", "--data", str(tmp_path), "--kbs", "desc,everything")
    assert result.returncode == 2 and "unknown knowledge base(s) everything" in result.stderr
    result = _run("kb_cic.py", "--data", str(tmp_path), "--split", "test")
    assert result.returncode == 2 and "--split must be dev or tune" in result.stderr


def _load_harness():
    spec = importlib.util.spec_from_file_location("kefu_benchmarks_load", BENCHMARKS / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_load_harness_variants_and_capacity():
    """Two configurations side by side (``--variant``) and the capacity summary: the most conversations whose FAQ
    p95 stayed under the target with no errors, per configuration and replica count."""
    import argparse

    load = _load_harness()
    assert load.parse_variant("today:KEFU_A=0, KEFU_B=x=y") == ("today", {"KEFU_A": "0", "KEFU_B": "x=y"})
    assert load.parse_variant("new:") == ("new", {})
    for bad in (":KEFU_A=0", "today:KEFU_A", "today:=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            load.parse_variant(bad)

    def level(variant: str, conversations: int, p95: float, errors: int = 0):
        latency = {"p50": p95 / 2, "p95": p95, "p99": p95}
        return load.LevelResult(1, variant, conversations, 60.0, 100, errors, 0, 0, conversations / 10.0,
                                latency, latency)

    results = [level("today", 50, 120.0), level("today", 100, 420.0), level("new", 50, 80.0),
               level("new", 100, 250.0), level("new", 150, 290.0, errors=1), level("new", 200, 900.0)]
    cap = load.capacity(results, 300.0)
    assert cap["today/1"] == {"conversations": 50, "turns_per_s": 5.0, "faq_p95_ms": 120.0}
    assert cap["new/1"]["conversations"] == 100  # 150 met the latency but had an error
    assert load.capacity([level("", 10, 500.0)], 300.0)["default/1"]["conversations"] is None
    assert "today, 1 replica" in load.svg_plot(results)
    assert load.table(results).count("| today |") == 2


def test_load_harness_refuses_a_bad_pace():
    result = _run("load.py", "--think", "30", "5")
    assert result.returncode == 2 and "--think" in result.stderr


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="cpu_account reads Linux's /proc")
def test_cpu_account_charges_a_server_and_its_children_to_the_server():
    """A process spawned in a session of its own (as tests/harness.py starts servers) and a child it forks are one
    group; the load generator (this process) is its own; a turn's share is CPU time over turns served."""
    import time

    load = _load_harness()
    cpu = load.cpu_account
    burn = ("import os, time\nchild = os.fork()\nend = time.process_time() + 0.4\n"
            "while time.process_time() < end: pass\nif child == 0: os._exit(0)\nos.waitpid(child, 0)\ntime.sleep(60)\n")
    server = subprocess.Popen([sys.executable, "-c", burn], start_new_session=True)
    try:
        before = cpu.snapshot({server.pid: "server"})
        time.sleep(0.05)
        after = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # both processes burn 0.4 s each; wait until the group holds that
            after = cpu.snapshot({server.pid: "server"})
            if after.groups.get("server", 0) - before.groups.get("server", 0) >= 0.7 * cpu.TICKS:
                break
            time.sleep(0.05)
    finally:
        server.kill()
        server.wait(timeout=60)
    spent = cpu.usage(before, after, seconds=1.0, turns=4)
    assert spent["processes"]["server"]["ms_per_turn"] >= 175  # 0.7 s over 4 turns
    assert "load generator" in spent["processes"] and 0 <= spent["machine_busy"] <= 1
    empty = cpu.usage(before, before, seconds=0.0, turns=0)
    assert empty["processes"]["server"] == {"cores": 0.0, "ms_per_turn": 0.0}
    results = [load.LevelResult(1, "new", 10, 60.0, 4, 0, 0, 0, 1.0, {}, {}, cpu=spent)]
    assert " server |" in load.cpu_table(results).splitlines()[0]


def test_the_turn_profile_measures_without_the_test_stacks_check_modes(tmp_path: Path):
    """tests/stack.py turns on every speed patch's check mode (Rasa's own work done too); the profile's stack must
    not, or it measures the work the patches save (a 50th turn cost 2.2x the 2nd with the checks on)."""
    from tests.stack import CHECKS

    spec = importlib.util.spec_from_file_location("kefu_benchmarks_turn_profile", BENCHMARKS / "turn_profile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    env = module.stack_env("sqlite", tmp_path, None, {})
    assert CHECKS and all(env[key] == "0" for key in CHECKS)
    assert module.stack_env("sqlite", tmp_path, None, {"KEFU_SURE_RULES_CHECK": "1"})["KEFU_SURE_RULES_CHECK"] == "1"


def test_the_turn_profile_reports_growth_by_the_2nd_turn_by_3_turn_windows_and_by_a_fitted_line():
    """The acceptance ratio (50th / 2nd turn), the windows' (48-50 / 2-4) and a line fitted to every turn: the 2nd
    turn alone follows the session's first turn, and single turns are noisy, so the others are reported beside it."""
    spec = importlib.util.spec_from_file_location("kefu_benchmarks_turn_profile", BENCHMARKS / "turn_profile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    costs = {2: 50.0, 3: 40.0, 4: 40.0, 8: 44.0, 9: 46.0, 10: 48.0}
    turns = [{"index": i, "rasa_cpu_ms": ms, "actions_cpu_ms": 10.0, "parts": {}} for i, ms in costs.items()]
    grown = module.growth(turns, 10)
    assert grown["ratio_rasa_cpu"] == 0.96  # 48 / 50
    assert grown["ratio_windows_rasa_cpu"] == 1.15  # 46 / 40 (medians)
    assert grown["ratio_windows_rasa_plus_actions_cpu"] == 1.12  # 56 / 50
    # the least-squares line through (2, 50), (3, 40), (4, 40), (8, 44), (9, 46), (10, 48): y = 42.80 + 0.31 x
    assert grown["fit_rasa_cpu"]["ms_per_turn"] == 0.3103
    assert grown["ratio_fit_rasa_cpu"] == 1.06  # 45.91 / 43.43
    table = module.growth_table([{"config": "sqlite", "growth": grown}])
    assert "| sqlite | ratio 8-10 / 2-4 | 1.15 |" in table and "| sqlite | ratio 10th / 2nd | 0.96 |" in table
    assert f"| sqlite | ratio 10th / 2nd, line fitted to turns 2-10 | {grown['ratio_fit_rasa_cpu']} |" in table
    flat = [{"index": i, "rasa_cpu_ms": 30.0, "actions_cpu_ms": 10.0, "parts": {}} for i in range(2, 11)]
    assert module.growth(flat, 10)["ratio_fit_rasa_cpu"] == 1.0
    assert module.fitted_line([(2, 1.0), (2, 3.0)]) is None
