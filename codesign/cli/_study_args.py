"""Flags shared by the subcommands that take a STUDY.yaml, and opening its stored study."""

from __future__ import annotations

from pathlib import Path

from codesign.errors import InputError


def add_study_arguments(parser, *, with_set: bool = True) -> None:
    parser.add_argument("study", metavar="STUDY.yaml", help="the study definition (studies/*.yaml)")
    parser.add_argument("--storage", metavar="URL", default=None,
                        help="Optuna storage URL (default: the file's storage:, else "
                             "sqlite:///<out>/<name>/study.db)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=Path("results"),
                        help="results root; results go to DIR/<study name>/ (default: results)")
    if with_set:
        parser.add_argument("--set", metavar="KEY.PATH=VALUE", action="append", default=[],
                            dest="overrides",
                            help="override a study field, e.g. --set hardware.pmca.tcdm_kib=256 "
                                 "(repeatable; VALUE is YAML)")


def load(args):
    from codesign.config import load_study

    return load_study(args.study, getattr(args, "overrides", []))


def open_existing(args, loaded):
    """(study, storage_url) of a study that must already exist; InputError if it does not."""
    import optuna

    from codesign.storage import SQLITE, check_url, is_sqlite, redact, sqlite_path
    from codesign.study import make_storage

    cfg = loaded.config
    url = check_url(storage_url(args, loaded))
    if (is_sqlite(url) and url.startswith(SQLITE) and sqlite_path(url).name
            and not sqlite_path(url).exists()):
        raise InputError(f"study {cfg.name!r} has not been run yet: no {sqlite_path(url)} "
                         f"(run: codesign run {args.study})")
    storage = make_storage(url, readonly=True)
    try:
        study = optuna.load_study(study_name=cfg.name, storage=storage)
    except KeyError:
        raise InputError(f"study {cfg.name!r} does not exist in {redact(url)} "
                         f"(run: codesign run {args.study})") from None
    return study, url


def storage_url(args, loaded) -> str:
    """--storage if given (even empty: refused later), else the file's storage:, else
    sqlite:///<out>/<name>/study.db (:func:`codesign.storage.storage_url_of`)."""
    from codesign.storage import default_url, storage_url_of

    cfg = loaded.config
    return storage_url_of(args.storage, cfg.storage, default_url(args.out, cfg.name))


def results_folder(args, loaded) -> Path:
    """<out>/<study name>/, checked writable (InputError naming --out); created on first write."""
    from codesign.files import writable_folder

    return writable_folder(Path(args.out) / loaded.config.name, "--out")
