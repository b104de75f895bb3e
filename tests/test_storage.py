"""Storage: reading never changes a byte, and no password is ever printed or written.

Read-only commands (pareto, pick, plot, report) open SQLite read-only: an existing study.db and a
foreign SQLite file keep their bytes, and no -wal/-shm file appears beside them. ``redact`` hides
every secret form libpq accepts, in every place a URL is shown: messages, config.yaml, report.html.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import yaml

from codesign.cli import main
from codesign.config import study_from_dict
from codesign.storage import readonly_url, redact

STUDY = {
    "name": "ro",
    "sampler": "random",
    "n_trials": 3,
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "search_space": {"rank": {"choices": [1, 2, 4]}},
    "objectives": [{"name": "latency_us"}, {"name": "adapter_params"}],
}
READERS = {
    "pareto": [],
    "pick": ["--require", "latency_us<=1e9"],
    "plot": ["--only", "pareto", "--format", "png", "--no-models"],
    "report": ["--no-models"],
}


def files_beside(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.parent.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("ro")
    path = root / "ro.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    store = root / "st ore#1"  # a URL-special folder name, read through SQLite's URI syntax
    store.mkdir()
    db = store / "study.db"
    assert main(["run", str(path), "--out", str(root / "out"), "--storage", f"sqlite:///{db}",
                 "--no-progress"]) == 0
    for lock in store.glob("*.lock"):
        lock.unlink()  # the workers' lock file: only `run` makes one
    foreign = root / "foreign" / "mine.db"
    foreign.parent.mkdir()
    con = sqlite3.connect(foreign)
    con.execute("PRAGMA journal_mode=WAL")  # the case that would need -wal/-shm files to read
    con.execute("CREATE TABLE notes (x TEXT)")
    con.execute("INSERT INTO notes VALUES ('mine')")
    con.commit()
    con.close()
    return path, db, foreign, root


@pytest.mark.parametrize("command", sorted(READERS))
def test_reading_a_study_leaves_its_database_byte_identical(stored, command, capsys):
    path, db, _, root = stored
    before = files_beside(db)
    code = main([command, str(path), "--out", str(root / f"out-{command}"),
                 "--storage", f"sqlite:///{db}", *READERS[command]])
    assert code == 0, capsys.readouterr().err
    assert files_beside(db) == before  # same bytes, and no -wal/-shm/lock file beside it


@pytest.mark.parametrize("command", sorted(READERS))
def test_reading_a_foreign_database_leaves_it_byte_identical(stored, command, capsys):
    path, _, foreign, root = stored
    before = files_beside(foreign)
    code = main([command, str(path), "--out", str(root / f"out-{command}"),
                 "--storage", f"sqlite:///{foreign}", *READERS[command]])
    err = capsys.readouterr().err
    assert code == 2 and "holds no codesign study" in err, err
    assert files_beside(foreign) == before
    con = sqlite3.connect(f"file:{foreign}?mode=ro", uri=True)
    try:  # still only the user's table: no Optuna schema added
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        con.close()
    assert tables == ["notes"]


SECRET = "s3cr3t"
#: every form a password can take in a URL that SQLAlchemy and libpq accept
URLS = {
    f"postgresql://alice:{SECRET}@db-host/codesign": "postgresql://alice:***@db-host/codesign",
    f"postgresql+psycopg://alice:{SECRET}@db-host:5432/codesign":
        "postgresql+psycopg://alice:***@db-host:5432/codesign",
    f"postgresql://:{SECRET}@db-host/codesign": "postgresql://:***@db-host/codesign",
    f"postgresql://alice:{SECRET}@x@db-host/codesign": "postgresql://alice:***@db-host/codesign",
    f"postgresql://alice:{SECRET}%40x@db-host/codesign": "postgresql://alice:***@db-host/codesign",
    f"postgresql://db-host/codesign?password={SECRET}&user=alice":
        "postgresql://db-host/codesign?password=***&user=alice",
    f"postgresql://db-host/codesign?user=alice&password={SECRET}":
        "postgresql://db-host/codesign?user=alice&password=***",
    f"postgresql:///codesign?host=db-host&sslpassword={SECRET}":
        "postgresql:///codesign?host=db-host&sslpassword=***",
    f"postgresql://db-host/codesign?PASSWORD={SECRET}": "postgresql://db-host/codesign?PASSWORD=***",
    f"postgresql:///?dbname=host%3Ddb-host%20password%3D{SECRET}":
        "postgresql:///?dbname=host%3Ddb-host%20password%3D***",
    f"host=db-host password={SECRET} dbname=codesign": "host=db-host password=*** dbname=codesign",
    f"host=db-host password = '{SECRET} x' dbname=codesign":
        "host=db-host password = *** dbname=codesign",
    f"mysql+pymysql://alice:{SECRET}@db-host/codesign": "mysql+pymysql://alice:***@db-host/codesign",
    "sqlite:////data/study.db": "sqlite:////data/study.db",
    "postgresql://alice@db-host/codesign": "postgresql://alice@db-host/codesign",
}


@pytest.mark.parametrize("url, shown", URLS.items())
def test_redact_hides_every_password_form(url, shown):
    assert redact(url) == shown
    assert redact(f"cannot open {url} (refused)") == f"cannot open {shown} (refused)"
    assert SECRET not in redact(f"cannot open {url!r}: refused")


def test_redact_hides_a_secret_that_a_driver_quotes_in_pieces():
    url = "postgresql://alice:pa@ss-word@db-host/db"
    assert "ss-word" not in redact("failed to resolve host 'ss-word@db-host'", url)


@pytest.mark.parametrize("url", [u for u in URLS if SECRET in u and "://" in u])
def test_no_password_in_config_yaml_or_report_html(stored, url, tmp_path):
    """The same redaction feeds every file that shows the storage: config.yaml and report.html."""
    import optuna

    from codesign.report import render_html, report_content
    from codesign.results import resolved_config

    path, db, _, _ = stored
    loaded = study_from_dict(yaml.safe_load(path.read_text()), source=path)
    assert SECRET not in yaml.safe_dump(resolved_config(loaded, url))
    study = optuna.load_study(study_name="ro", storage=readonly_url(f"sqlite:///{db}"))
    html = render_html(report_content(study, loaded, url, tmp_path, formats=("png",), models=False))
    assert SECRET not in html and "***" in html


@pytest.mark.postgres
def test_no_password_printed_or_written_with_postgres(tmp_path, capsys, pg_url):
    import os

    from sqlalchemy.engine import make_url

    base = pg_url
    password = make_url(base).password
    path = tmp_path / "pg.yaml"
    path.write_text(yaml.safe_dump({**STUDY, "name": f"ro_{os.getpid()}"}))
    out = tmp_path / "out"
    for argv in (["run", str(path), "--no-progress"], ["pareto", str(path)], ["report", str(path),
                                                                               "--no-models"]):
        assert main([*argv, "--out", str(out), "--storage", base]) == 0
    text = capsys.readouterr()
    assert password and password not in text.out + text.err
    for f in out.rglob("*"):
        if f.is_file() and f.suffix in (".yaml", ".html", ".csv", ".svg"):
            assert password not in f.read_text(errors="replace"), f


@pytest.mark.postgres
def test_reading_a_postgres_database_without_a_study_adds_nothing(tmp_path, capsys, pg_url):
    import sqlalchemy

    path = tmp_path / "pg.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    code = main(["pareto", str(path), "--out", str(tmp_path / "out"), "--storage", pg_url])
    assert code == 2 and "holds no codesign study" in capsys.readouterr().err
    engine = sqlalchemy.create_engine(pg_url)
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("given,configured,want", [
    ("postgresql://u@h/db", "sqlite:///file.db", "postgresql://u@h/db"),   # the flag wins
    ("", "sqlite:///file.db", ""),                   # even empty: check_url refuses it later
    (None, "sqlite:///file.db", "sqlite:///file.db"),  # then the study file's storage:
    (None, None, "DEFAULT"),                           # then the default
])
def test_storage_precedence_is_flag_then_study_file_then_default(given, configured, want):
    from codesign.storage import storage_url_of

    assert storage_url_of(given, configured, "DEFAULT") == want


def test_the_default_storage_is_an_absolute_sqlite_file_under_out(tmp_path, monkeypatch):
    from codesign.storage import default_url

    monkeypatch.chdir(tmp_path)
    assert default_url("results", "q") == f"sqlite:///{tmp_path.resolve()}/results/q/study.db"
