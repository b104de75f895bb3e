"""The training ledger: settings trained once per study (across workers and machines), pruned at
checkpoints, warm-started from the nearest trained adapter, resumed after an interrupt."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import optuna
import pandas as pd
import pytest
import yaml

from codesign.config.search import SearchSettings
from codesign.study.ledger import training_steps
from codesign.study.warm import distance, family, nearest_start
from hw_models.specs import ROLES

TINY = {
    "sampler": "grid",
    "seed": 0,
    "workload": {"network": "minilm-l6", "seq_len": 64,
                 "accuracy": {"n_train": 16, "n_eval": 8, "max_seq_len": 16}},
    "hardware": {"tokens": 8},
    "lora": {"rank": 2, "placement": "all"},
    "accuracy": {"training": {"steps": 8, "batch_size": 8},
                 "evaluation": {"drift_times": ["1d"], "n_draws": 1}},
    "objectives": [{"name": "accuracy", "at": "1d"}, {"name": "latency_us"}],
}


def _rec(number, rank=4, adc=8, start=None, fam="f"):
    return {"family": fam, "number": number, "adapter_key": f"a{number}", "start": start,
            "axes": {"rank": rank, "adc_bits": adc, "dac_bits": 8, "train_integration_ns": 256}}


@pytest.mark.parametrize("target,candidates,expected", [
    (_rec(9, rank=8), [_rec(0, rank=1), _rec(1, rank=4), _rec(2, rank=16)], 1),  # a tie: earliest
    # the same noise (ADC bits) with another rank is nearer than another ADC with the same rank
    (_rec(9, rank=4, adc=6), [_rec(0, rank=4, adc=8), _rec(1, rank=8, adc=6)], 1),
    (_rec(9, adc=6), [_rec(0, adc=8, start="x"), _rec(1, adc=8)], 1),  # from scratch first
    (_rec(9, adc=6), [_rec(0, adc=8), _rec(1, adc=8)], 0),  # then the earliest
    (_rec(9), [_rec(0, fam="other")], None),  # another placement, workload, noise...
    (_rec(9), [], None),
])
def test_nearest_start_picks_the_closest_trained_setting_of_the_same_family(
        target, candidates, expected):
    found = nearest_start(target, candidates)
    assert (found and found["number"]) == expected if expected is not None else found is None


def test_distance_and_family():
    from codesign.config.search import WARM_START_AXES
    from codesign.study.warm import WARM_AXES

    assert tuple(WARM_AXES) == WARM_START_AXES      # the config names the knobs warm.py weighs
    a = {"rank": 4, "adc_bits": 8, "dac_bits": 8, "train_integration_ns": 256}
    assert distance(a, a) == 0
    assert distance(a, a | {"rank": 16}) == 1          # two octaves of rank
    assert distance(a, a | {"adc_bits": 6}) == 2       # two bits
    assert distance(a, a | {"train_integration_ns": 128}) == 2   # an octave of integration
    d = {"aimc": {"rows": 512, "adc_bits": 8, "dac_bits": 8, "train_integration_ns": 256},
         "lora": {"rank": 4, "placement": "all"}, "training": {"steps": 60}}
    same = {"aimc": d["aimc"] | {"adc_bits": 4}, "lora": {"rank": 16, "placement": "all"},
            "training": {"steps": 60}}
    assert family(d) == family(same)
    assert family(d) != family(d | {"lora": {"rank": 4, "placement": "qkv"}})
    assert family(d) != family(d | {"training": {"steps": 30}})
    # warm starts across rank only (search.warm_start_axes: [rank]): one family per noise
    rank_only = ("rank",)
    assert family(d, rank_only) == family(d | {"lora": {"rank": 16, "placement": "all"}},
                                          rank_only)
    assert family(d, rank_only) != family(same, rank_only)         # other ADC bits
    assert family(d, rank_only) != family(
        d | {"aimc": d["aimc"] | {"train_integration_ns": 128}}, rank_only)


def test_search_settings_checkpoints_and_warm_steps():
    s = SearchSettings(pruner="median", checkpoints=(0.25, 0.5))
    assert s.rungs(16) == (4, 8) and s.rungs(2) == (1,)
    # the default warm start trains 1/16 of the steps, at least one
    assert s.warm_steps(64) == 4 and s.warm_steps(8) == 1
    assert SearchSettings(warm_start_steps=0.25).warm_steps(64) == 16
    with pytest.raises(Exception, match=r"search.checkpoints\[0\]"):
        SearchSettings(checkpoints=(1.5,))
    with pytest.raises(Exception, match="increasing"):
        SearchSettings(checkpoints=(0.5, 0.25))


def _write(tmp_path, name, **changes):
    data = {**TINY, "name": name, **changes}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


def _ledger(url, name):
    return optuna.load_study(study_name=f"{name}:trainings", storage=url)


def test_pruned_settings_are_labelled_and_resumed_only_when_the_pruner_lets_them(tmp_path):
    pytest.importorskip("aihwkit")
    from codesign.cli import main
    from codesign.figures.data import pareto_data
    from codesign.config import load_study, objectives_of

    # 3-bit ADCs are far worse at every checkpoint than 8-bit ones: the median pruner stops them
    path, _ = _write(tmp_path, "prune", search={"pruner": "median", "min_settings": 1},
                     search_space={"adc_bits": {"choices": [8, 3]}, "rank": {"choices": [1, 2]},
                                   "tokens": {"choices": [8, 16]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "8"]) == 0
    url = f"sqlite:///{out / 'prune' / 'study.db'}"
    table = pd.read_csv(out / "prune" / "trials.csv")
    pruned = table[table["state"] == "PRUNED"]
    assert len(pruned) >= 1
    assert set(pruned["adc_bits"]) == {3}
    assert set(pruned["pruned_at_step"]) <= {2, 4}          # checkpoints of 8 steps
    assert pruned["accuracy@1d"].notna().all()              # the accuracy at that checkpoint
    assert pruned["reason"].str.contains("pruned at step").all()
    # each distinct setting (adc x rank) is trained by one claim; trials that share it (other
    # tokens) find it trained and spend nothing, except a pruned one: the search came back to it,
    # so it is claimed again, replays its checkpoints from the cache (no step computed again)
    # and the same evidence prunes it again
    ledger = sorted(_ledger(url, "prune").trials, key=lambda t: t.number)
    first: dict = {}
    for t in ledger:
        setting = t.user_attrs["setting"]
        if setting in first:
            assert first[setting].state.name == "PRUNED"
            assert t.state.name == "PRUNED" and t.user_attrs["computed"] == 0
        first.setdefault(setting, t)
    assert len(first) == 4
    spent = training_steps(url, "prune")
    assert spent["trainings"] == 4 and spent["steps"] == table["training_steps"].sum()
    assert spent["steps"] < 4 * 8
    # the figures show the pruned trials
    loaded = load_study(path)
    data = pareto_data(table, table[table["state"] == "COMPLETE"].head(0), objectives_of(loaded))
    assert len(data.panels[0].pruned) == len(pruned)


@pytest.mark.parametrize("axes,scratch", [
    (["rank", "adc_bits", "dac_bits", "train_integration_ns"], 1),  # one start for all four
    (None, 2),      # the default, rank only: one from scratch per ADC bits, the other rank warm
])
def test_warm_starts_train_fewer_steps_from_the_nearest_adapter(tmp_path, axes, scratch):
    pytest.importorskip("aihwkit")
    from codesign.cli import main

    search = {"warm_start": True, "warm_start_steps": 0.25, "screen_steps": 0} | (
        {"warm_start_axes": axes} if axes else {})
    path, _ = _write(tmp_path, "warm", search=search,
                     search_space={"rank": {"choices": [2, 8]}, "adc_bits": {"choices": [8, 6]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "4"]) == 0
    url = f"sqlite:///{out / 'warm' / 'study.db'}"
    trials = sorted(_ledger(url, "warm").trials, key=lambda t: t.number)
    assert trials[0].user_attrs["start"] is None and trials[0].user_attrs["steps"] == 8
    warm = [t for t in trials if t.user_attrs["start"] is not None]
    assert len(warm) == 4 - scratch
    axes_of = {u.user_attrs["adapter_key"]: u.user_attrs["axes"] for u in trials}
    for t in warm:                                         # each from an adapter trained before
        assert t.user_attrs["start"] in {u.user_attrs["adapter_key"] for u in trials[:t.number]}
        assert t.user_attrs["steps"] == 2
        assert t.user_attrs["adapter_key"] != t.user_attrs["setting"]  # the start is in the key
        if axes is None:                                   # the same ADC bits: only the rank moves
            assert axes_of[t.user_attrs["start"]]["adc_bits"] == t.user_attrs["axes"]["adc_bits"]
    table = pd.read_csv(out / "warm" / "trials.csv")
    assert table["warm_start"].notna().sum() == 4 - scratch
    assert training_steps(url, "warm")["steps"] == 8 * scratch + (4 - scratch) * 2


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(path, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "codesign", "run", str(path), "--out", str(out),
                             "--no-progress", *map(str, extra)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


@pytest.mark.parametrize("search", [{"pruner": "median", "min_settings": 1},
                                    {}],                 # no pruner: checkpoints all the same
                         ids=["pruner", "no-pruner"])
def test_an_interrupted_training_resumes_from_its_last_checkpoint(tmp_path, search):
    pytest.importorskip("aihwkit")
    steps = 32
    path, data = _write(tmp_path, "resume", n_trials=1,
                        accuracy={**TINY["accuracy"], "training": {"steps": steps,
                                                                   "batch_size": 8}},
                        search=search, search_space={"rank": {"choices": [2]}})
    out = tmp_path / "out"
    proc = _run(path, out)
    end = time.time() + 240
    half = None
    while time.time() < end and proc.poll() is None:
        found = list((out / ".cache" / "accuracy" / "checkpoints").glob(f"*/step-{steps // 2}"))
        if found and (found[0] / "meta.json").is_file():
            half = found[0]
            break
        time.sleep(0.05)
    assert half is not None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    proc = _run(path, out)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    url = f"sqlite:///{out / 'resume' / 'study.db'}"
    done = [t for t in _ledger(url, "resume").trials if t.state.name == "COMPLETE"]
    assert len(done) == 1
    # the resumed claim trained only past the last checkpoint (or nothing, when the interrupt
    # came after the adapters were saved)
    assert done[0].user_attrs["computed"] in (steps - steps // 2, 0)
    # each checkpoint went to the artifact store as it was written, with its digest
    ledger = _ledger(url, "resume")
    key = done[0].user_attrs["setting"]
    for rung in (steps // 4, steps // 2):
        assert f"checkpoint:{key}@{rung}" in ledger.user_attrs
        assert ledger.user_attrs[f"checkpoint:{key}@{rung}:digest"]["size"] > 0


@pytest.mark.postgres
def test_two_machines_train_each_setting_once_through_the_artifact_store(tmp_path, pg_url):
    pytest.importorskip("aihwkit")
    shared = tmp_path / "shared-artifacts"                 # e.g. an NFS folder, or s3://...
    path, _ = _write(tmp_path, "machines", n_trials=6,
                     search={"artifacts": str(shared)},
                     search_space={"rank": {"choices": [1, 2, 4]}, "tokens": {"choices": [8, 16]}})
    # two "machines": separate result folders, hence separate local adapter caches
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    procs = [_run(path, o, "--storage", pg_url) for o in outs]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    main = optuna.load_study(study_name="machines", storage=pg_url)
    assert [t.state.name for t in main.trials].count("COMPLETE") == 6
    ledger = _ledger(pg_url, "machines")
    settings = [t.user_attrs["setting"] for t in ledger.trials]
    used = {t.user_attrs["run"]["training"]["setting"] for t in main.trials}
    assert len(used) >= 2
    assert {t.state.name for t in ledger.trials} == {"COMPLETE"}
    assert sorted(settings) == sorted(used)               # trainings == distinct settings
    # every trial's adapter is in the cache of the machine that ran it: trained there or fetched
    for t in main.trials:
        run = t.user_attrs["run"]
        folder = outs[0] if run["worker"].endswith(f":{procs[0].pid}") else outs[1]
        key = run["training"]["adapter_key"]
        assert (folder / ".cache" / "accuracy" / "adapters" / key / "meta.json").is_file()
    workers = {t.user_attrs["run"]["worker"] for t in main.trials}
    assert len(workers) == 2


@pytest.mark.parametrize("mine,theirs,prune", [
    ((0.80, {"latency_us": 100, "energy_uj": 5}), (0.85, {"latency_us": 100, "energy_uj": 5}), True),
    ((0.80, {"latency_us": 100, "energy_uj": 5}), (0.85, {"latency_us": 90, "energy_uj": 4}), True),
    # cheaper in one objective: may be on the front, kept
    ((0.80, {"latency_us": 100, "energy_uj": 5}), (0.85, {"latency_us": 110, "energy_uj": 4}), False),
    # as accurate or better: kept
    ((0.85, {"latency_us": 100, "energy_uj": 5}), (0.85, {"latency_us": 90, "energy_uj": 4}), False),
])
def test_the_dominated_pruner_stops_only_settings_beaten_in_every_objective(mine, theirs, prune):
    from codesign.study.pruners import DominatedPruner

    study = optuna.create_study(direction="maximize", pruner=DominatedPruner())
    other = study.ask()
    other.set_user_attr("costs", theirs[1])
    other.report(theirs[0], 4)
    study.tell(other, theirs[0])
    trial = study.ask()
    trial.set_user_attr("costs", mine[1])
    trial.report(mine[0], 4)
    assert trial.should_prune() is prune
    trial.report(mine[0], 8)                 # nobody else reached step 8: no evidence
    assert trial.should_prune() is False


@pytest.mark.parametrize("name,cls", [
    ("none", optuna.pruners.NopPruner), ("median", optuna.pruners.MedianPruner),
    ("successive_halving", optuna.pruners.SuccessiveHalvingPruner),
    ("hyperband", optuna.pruners.HyperbandPruner)])
def test_each_pruner_name_is_the_optuna_pruner_at_the_checkpoints(name, cls):
    from codesign.study.pruners import DominatedPruner, make_pruner

    search = SearchSettings(pruner=name)
    pruner = make_pruner(search, search.rungs(40), 40)
    assert isinstance(pruner, cls)
    if name in ("successive_halving", "hyperband"):       # the first rung is the first checkpoint
        study = optuna.create_study(direction="maximize", pruner=pruner)
        trial = study.ask()
        trial.report(0.5, 9)
        assert trial.should_prune() is False               # below the first checkpoint: no rung
    assert isinstance(make_pruner(SearchSettings(pruner="dominated"), (10,), 40), DominatedPruner)


def test_a_bad_artifact_store_is_one_line_exit_2_and_creates_no_study(tmp_path, capsys):
    pytest.importorskip("aihwkit")
    from codesign.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path, _ = _write(tmp_path, "badstore", search={"artifacts": str(blocker / "artifacts")},
                     search_space={"rank": {"choices": [2]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("codesign run: error: search.artifacts: cannot create") and "\n" not in err
    assert not (out / "badstore" / "study.db").exists()  # not even an empty database
    assert blocker.read_text() == "not a folder"
    path, _ = _write(tmp_path, "bads3", search={"artifacts": "s3://bucket/with/prefix"},
                     search_space={"rank": {"choices": [2]}})
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("codesign run: error: search.artifacts:") and "\n" not in err


def test_a_trained_setting_whose_artifacts_are_damaged_is_trained_again_not_failed(
        tmp_path, capfd):
    """Another machine trained the setting; its adapter in the store was re-packed and its result
    removed: this worker refuses both with one line each, trains the adapters itself (the same
    training), uploads them again, and the trial completes; nothing in the store runs."""
    pytest.importorskip("aihwkit")
    import io
    import os
    import pickle
    import shutil
    import tarfile

    from codesign.accuracy.integrity import file_digest
    from codesign.cli import main

    path, _ = _write(tmp_path, "damaged", search_space={"rank": {"choices": [2]},
                                                        "tokens": {"choices": [8, 16]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "1"]) == 0
    url = f"sqlite:///{out / 'damaged' / 'study.db'}"
    attrs = _ledger(url, "damaged").user_attrs
    store = out / "damaged" / "artifacts"
    (adapter_key,) = [k.split(":")[1] for k in attrs if k.startswith("adapter:")
                      and not k.endswith(":digest")]
    (result_id,) = [v for k, v in attrs.items() if k.startswith("result:")
                    and not k.endswith(":digest")]
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    blob = store / attrs[f"adapter:{adapter_key}"]
    with tarfile.open(blob, "a") as tar:                 # re-packed: one more file
        data = pickle.dumps(Evil())
        info = tarfile.TarInfo("state.pt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (store / result_id).unlink()
    shutil.rmtree(out / ".cache")                         # "another machine": no local cache
    capfd.readouterr()
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "2"]) == 0
    err = capfd.readouterr().err
    assert not marker.exists()
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("codesign: artifact ")]
    assert any(x.startswith(f"codesign: artifact adapter:{adapter_key} ") and
               "damaged or replaced" in x for x in lines), err
    assert any(x.startswith("codesign: artifact result:") and "is missing" in x
               for x in lines), err
    main_study = optuna.load_study(study_name="damaged", storage=url)
    assert [t.state.name for t in main_study.trials] == ["COMPLETE", "COMPLETE"]
    assert len(_ledger(url, "damaged").trials) == 1        # trained once in the ledger's eyes
    # uploaded again: the store's copy now matches its new digest
    attrs = _ledger(url, "damaged").user_attrs
    assert file_digest(store / attrs[f"adapter:{adapter_key}"]) == \
        attrs[f"adapter:{adapter_key}:digest"]


def test_a_refused_artifact_store_creates_no_file_at_all(tmp_path, capsys):
    """Issue 20, item 7: a refused search.artifacts left an empty study.db behind."""
    pytest.importorskip("aihwkit")
    from codesign.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = tmp_path / "out"
    for name, where in (("badstore", str(blocker / "artifacts")),
                        ("bads3", "s3://bucket/with/prefix")):
        path, _ = _write(tmp_path, name, search={"artifacts": where},
                         search_space={"rank": {"choices": [2]}})
        assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("codesign run: error: search.artifacts:") and "\n" not in err
        assert not out.exists() or list(out.rglob("*")) == [], list(out.rglob("*"))
    assert blocker.read_text() == "not a folder"


def test_the_same_seed_gives_the_same_ledger_and_trials(tmp_path):
    """A seeded study with warm starts and screens, run twice from nothing (each run its own
    storage and adapter cache, so every setting is trained twice): the same points, the same
    trainings (setting, start, steps, screened), the same promotions and the same values, to
    the last bit."""
    pytest.importorskip("aihwkit")
    from codesign.cli import main
    from codesign.study import record

    path, _ = _write(tmp_path, "again", sampler="tpe", seed=5,
                     search={"warm_start": True, "warm_start_steps": 0.25, "screen_steps": 0.125},
                     search_space={"rank": {"choices": [2, 8]}, "adc_bits": {"choices": [8, 6]}})
    runs = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "3"]) == 0
        url = f"sqlite:///{out / 'again' / 'study.db'}"
        ledger = [(t.state.name, t.value, {k: t.user_attrs.get(k) for k in (
            "setting", "adapter_key", "start", "steps", "from_step", "to_step", "screened")})
            for t in sorted(_ledger(url, "again").trials, key=lambda t: t.number)]
        trials = [(r.state, r.params, r.values, r.promotes) for r in
                  record.records(optuna.load_study(study_name="again", storage=url))]
        runs.append((ledger, trials))
    (ledger_a, trials_a), (ledger_b, trials_b) = runs
    assert len([t for t in trials_a if t[3] is None]) == 3
    assert any(entry[2]["start"] for entry in ledger_a)                        # warm-started
    assert any(entry[2]["screened"] for entry in ledger_a)                     # and screened
    assert ledger_a == ledger_b
    assert trials_a == trials_b


def test_siblings_measure_a_trials_other_tokens_without_training_and_do_not_count(tmp_path):
    pytest.importorskip("aihwkit")
    from codesign.cli import main
    from codesign.study import make_storage
    from codesign.study.record import records

    path, _ = _write(tmp_path, "sib", sampler="tpe", search={"siblings": 4},
                     search_space={"rank": {"choices": [2, 8]},
                                   "tokens": {"choices": [8, 16, 32]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "3"]) == 0
    url = f"sqlite:///{out / 'sib' / 'study.db'}"
    recs = records(optuna.load_study(study_name="sib", storage=make_storage(url)))
    proposed = [r for r in recs if r.sibling_of is None]
    siblings = [r for r in recs if r.sibling_of is not None]
    assert len(proposed) == 3 and siblings                # n_trials counts the proposals
    by_number = {r.number: r for r in recs}
    for s in siblings:
        first = by_number[s.sibling_of]
        assert s.state == "COMPLETE" and first.sibling_of is None
        assert s.params["rank"] == first.params["rank"]
        assert s.params["tokens"] != first.params["tokens"]
        assert s.values[0] == first.values[0]            # the same accuracy measurement...
        assert s.training.steps_trained == 0 and s.run.accuracy_cache_hit   # ...not trained
    # every rank the study visited is measured at every tokens value; no sibling repeats a
    # point the study held (the sampler may still propose one again)
    points = [(r.params["rank"], r.params["tokens"]) for r in recs]
    for s in siblings:
        assert all(r.params != s.params for r in recs if r.number < s.number)
    assert set(points) == {(rank, tokens) for rank in {p[0] for p in points}
                           for tokens in (8, 16, 32)}
    table = pd.read_csv(out / "sib" / "trials.csv")
    assert table["sibling_of"].notna().sum() == len(siblings)


def test_screens_train_a_new_noise_briefly_and_promote_what_reaches_the_front(tmp_path, capsys):
    """search.screen_steps: the first setting of a new noise (other ADC bits) is a screen (one
    step from the nearest full training, across noises); a screened trial on the front is
    measured again with its setting trained in full (a promotion, not counted towards
    n_trials), and the final front holds only trials measured with full trainings."""
    pytest.importorskip("aihwkit")
    from codesign.cli import main
    from codesign.study import make_storage
    from codesign.study.record import records, superseded

    path, _ = _write(tmp_path, "screen", search={"warm_start": True, "warm_start_steps": 0.25,
                                                 "screen_steps": 0.125},
                     search_space={"rank": {"choices": [2, 8]}, "adc_bits": {"choices": [8, 4]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "4"]) == 0
    printed = capsys.readouterr().out
    url = f"sqlite:///{out / 'screen' / 'study.db'}"
    ledger = sorted(_ledger(url, "screen").trials, key=lambda t: t.number)
    screens = [t for t in ledger if t.user_attrs.get("screened")]
    assert screens and all(t.user_attrs["steps"] == 1 for t in screens)
    axes_of = {t.user_attrs["adapter_key"]: t.user_attrs["axes"] for t in ledger}
    for t in screens:                                    # across noises, from a full training
        start = t.user_attrs["start"]
        assert axes_of[start]["adc_bits"] != t.user_attrs["axes"]["adc_bits"]
        assert not any(u.user_attrs.get("screened") for u in ledger
                       if u.user_attrs["adapter_key"] == start)
    recs = records(optuna.load_study(study_name="screen", storage=make_storage(url)))
    proposed = [r for r in recs if r.promotes is None and r.sibling_of is None]
    assert len(proposed) == 4                            # promotions do not count
    by_number = {r.number: r for r in recs}
    gone = superseded(recs)
    for r in recs:
        if r.promotes is not None:                       # the same point, trained in full
            first = by_number[r.promotes]
            assert r.params == first.params and first.training.screened
            assert r.state == "COMPLETE" and not r.training.screened
            assert gone[first.number] == r.number
    front = pd.read_csv(out / "screen" / "pareto.csv")
    table = pd.read_csv(out / "screen" / "trials.csv").set_index("number")
    assert len(front) and not front["screened"].any()    # the front: full trainings only
    assert not set(front["number"]) & set(gone)
    assert table["superseded_by"].dropna().astype(int).to_dict() == gone
    promotions = sum(r.promotes is not None for r in recs)
    assert f"of which siblings 0, promotions {promotions} (not counted" in printed
    spent = training_steps(url, "screen")
    assert spent["screened"] == len(screens) and spent["steps"] == sum(
        t.user_attrs["to_step"] - t.user_attrs["from_step"] for t in ledger)


def _key(placement="all", rank=4, adc=8):
    return {"aimc": {"rows": 512, "adc_bits": adc, "dac_bits": 8, "train_integration_ns": 256},
            "lora": {"rank": rank, "placement": placement}, "training": {"steps": 16}}


def test_covers_and_the_placement_family():
    from codesign.study.warm import covers, roles

    assert roles(_key("qkv")) == ["key", "query", "value"]
    assert roles({"lora": None}) is None                       # full fine-tuning: no adapters
    assert covers(roles(_key("all")), roles(_key("qkv")))
    assert covers(roles(_key("attention")), roles(_key("attn_out")))
    assert covers(roles(_key("qkv")), roles(_key("qkv")))
    assert not covers(roles(_key("qkv")), roles(_key("all")))   # a layer would start untrained
    assert not covers(roles(_key("ffn")), roles(_key("qkv")))
    assert not covers(None, roles(_key("qkv")))                 # a ledger record from before
    # the placement family forgets the placement and every warm knob, nothing else
    assert family(_key("all"), placement=True) == family(_key("ffn", rank=2, adc=4),
                                                          placement=True)
    assert family(_key("all")) != family(_key("ffn"))
    assert family(_key("all"), placement=True) != family(
        _key("all") | {"training": {"steps": 8}}, placement=True)


#: the ledger of the placement-screen table: (placement, rank, adc bits, screened)
LEDGER_HOLDS = [("all", 4, 8, False), ("attention", 4, 6, False), ("ffn", 4, 8, True)]


@pytest.mark.parametrize("target,settings,screen,expected", [
    # a new placement: the nearest full training at a placement containing its layers
    (_key("qkv", rank=2), {}, True, (0, "screen")),
    (_key("qkv", adc=6), {}, True, (1, "screen")),       # the same noise first
    (_key("attn_out", adc=8), {}, True, (0, "screen")),  # 'all' at 8 bits is nearer than...
    (_key("attn_out", adc=6), {}, True, (1, "screen")),  # ...'attention' at 6 bits
    (_key("ffn"), {}, True, (0, "screen")),              # a screened ffn adapter starts nothing
    (_key("ffn"), {"screen_placements": False}, True, (None, "scratch")),
    # search.screen_start: 'distance' (the default) keeps to the same placement first; 'loss'
    # weighs two ADC bits (1.5 points) above another placement (0.9)
    (_key("attention", adc=8), {}, True, (1, "screen")),
    (_key("attention", adc=8), {"screen_start": "loss"}, True, (0, "screen")),
    # a known placement: an ordinary warm start (rank), or a noise screen (same placement)
    (_key("all", rank=8), {}, True, (0, "warm")),
    (_key("all", adc=4), {}, True, (0, "screen")),
    (_key("all", adc=4), {"screen_steps": 0}, True, (None, "scratch")),
    # a promotion: a warm start, else the screen's start (promote_steps < 1, the default)...
    (_key("all", rank=8), {}, False, (0, "warm")),
    (_key("qkv", adc=6), {}, False, (1, "promote")),
    (_key("all", adc=4), {"promote_steps": 0.5}, False, (0, "promote")),
    (_key("ffn"), {}, False, (0, "promote")),
    # ...or, with promote_steps: 1, from scratch
    (_key("qkv"), {"promote_steps": 1.0}, False, (None, "scratch")),
    (_key("all", rank=8), {"promote_steps": 1.0}, False, (0, "warm")),
])
def test_placement_screens_start_from_a_placement_containing_the_new_one(
        tmp_path, target, settings, screen, expected):
    """search.screen_placements: a setting whose placement has no full training starts (a
    screen) from the nearest full training at a placement whose layers contain its own; only
    when neither a warm start nor a noise screen at its own placement exists. A promotion
    (screen=False) starts from a screen's start only with search.promote_steps below 1."""
    import contextlib

    from codesign.study import make_storage
    from codesign.study.ledger import Ledger
    from codesign.study.warm import roles, warm_axes

    search = SearchSettings(**({"warm_start": True, "screen_placements": True} | settings))
    ledger = Ledger(make_storage(f"sqlite:///{tmp_path / 'l.db'}"),
                    lambda name: contextlib.nullcontext(), "s", "maximize", search,
                    str(tmp_path / "artifacts"), 16)
    for i, (placement, rank, adc, screened) in enumerate(LEDGER_HOLDS):
        key = _key(placement, rank, adc)
        ledger.study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={
            "setting": f"s{i}", "adapter_key": f"a{i}", "start": None, "screened": screened,
            "family": family(key, search.warm_start_axes), "screen_family": family(key),
            "placement_family": family(key, placement=True), "roles": roles(key),
            "axes": warm_axes(key)}))
    start, kind = ledger.start_for(target, screen)
    assert ((start and start["number"]), kind) == expected


def test_a_new_placement_is_screened_from_an_adapter_containing_its_layers(tmp_path):
    """search.screen_placements end to end: after the 'all' adapter is trained in full, the
    first 'qkv' setting trains one step from it (its attention layers kept, the rest dropped)
    instead of a training from scratch."""
    pytest.importorskip("aihwkit")
    from codesign.cli import main

    path, _ = _write(tmp_path, "pl", seed=1,    # seed 1: the grid visits 'all' first
                     search={"warm_start": True, "screen_steps": 0.125,
                             "screen_placements": True},
                     search_space={"placement": {"choices": ["all", "qkv"]}})
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--n-trials", "2"]) == 0
    ledger = sorted(_ledger(f"sqlite:///{out / 'pl' / 'study.db'}", "pl").trials,
                    key=lambda t: t.number)
    first, second = ledger[0].user_attrs, ledger[1].user_attrs
    assert first["roles"] == sorted(ROLES) and first["start"] is None
    assert second["roles"] == ["key", "query", "value"]
    assert second["screened"] and second["start"] == first["adapter_key"]
    assert second["steps"] == 1 and ledger[1].state.name == "COMPLETE"
    # what the screen is expected to lose: another placement, the same noise and rank
    assert second["expected_loss"] == pytest.approx(0.9) and first["expected_loss"] is None


def _rec_at(number, placement="all", rank=4, adc=8, ns=256, start=None):
    key = _key(placement, rank, adc)
    key["aimc"]["train_integration_ns"] = ns
    from codesign.study.warm import roles, warm_axes

    return {"family": "f", "number": number, "adapter_key": f"a{number}", "start": start,
            "axes": warm_axes(key), "roles": roles(key)}


@pytest.mark.parametrize("target,candidates,expected", [
    # an octave of integration time (0.2) costs a screen less than two ADC bits (1.5)
    (_rec_at(9, adc=8, ns=128), [_rec_at(0, adc=6, ns=128), _rec_at(1, adc=8, ns=256)], 1),
    # another placement with the same noise (0.9) less than two ADC bits at the same one
    (_rec_at(9, "qkv", adc=8), [_rec_at(0, "qkv", adc=6), _rec_at(1, "all", adc=8)], 1),
    # ...but more than an octave of integration time at the same one
    (_rec_at(9, "qkv", ns=128), [_rec_at(0, "qkv"), _rec_at(1, "all", ns=128)], 0),
    (_rec_at(9, "all"), [_rec_at(0, "qkv")], None),           # qkv lacks layers 'all' has
    (_rec_at(9, adc=6), [_rec_at(0, start="x"), _rec_at(1)], 1),   # from scratch first
    (_rec_at(9, rank=1), [_rec_at(0, rank=16), _rec_at(1, rank=2)], 1),
])
def test_a_screen_starts_where_screens_lost_least(target, candidates, expected):
    from codesign.study.warm import cheapest_screen, screen_loss

    found = cheapest_screen(target, candidates)
    assert (found and found["number"]) == expected if expected is not None else found is None
    assert screen_loss(_rec_at(0, adc=8), _rec_at(1, adc=6)) == pytest.approx(1.5)
    assert screen_loss(_rec_at(0, "qkv"), _rec_at(1, "all", ns=128)) == pytest.approx(1.1)
