"""The command line's arguments: every subcommand and flag, and usage errors in one line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import NoReturn

from search import datasets, engines, preset_files, presets
from storage.artifacts import KEEP


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser(description: str, handlers: Mapping[str, Callable[[argparse.Namespace], int]]
                 ) -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets ``func`` to its handler in ``handlers``."""
    parser = _Parser(prog="python -m search.study", description=description)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    # Where the trained models (Optuna artifacts) live: for run, export, report and dashboard.
    kept = argparse.ArgumentParser(add_help=False)
    kept.add_argument("--artifacts", help="folder of the trained models (Optuna artifacts; "
                                          "default: beside a file storage, NAME.artifacts, "
                                          "else OUT/artifacts)")

    run = sub.add_parser("run", parents=[kept], help="run (or resume) a study from a preset")
    run.add_argument("--preset", default=presets.DEFAULT_PRESET,
                     help=f"preset name ({', '.join(preset_files.available())}) or FILE.toml")
    run.add_argument("--storage", help="storage URL (default: sqlite:///OUT/studies.db)")
    run.add_argument("--study-name", help="study name (default: PRESET-DATASET)")
    run.add_argument("--dataset", help=f"{datasets.choices()} (default: the preset's)")
    run.add_argument("--data-dir", help="folder holding the dataset files")
    run.add_argument("--epochs", type=int)
    run.add_argument("--seeds", type=int, help="seeds per grid cell")
    run.add_argument("--trials", type=int,
                     help="search: trials in the study; grid: units this worker runs at most")
    run.add_argument("--timeout", type=float, help="stop starting trials after SECONDS")
    run.add_argument("--train-subset", type=int, help="stratified subset of N training images")
    run.add_argument("--batch-size", type=int)
    run.add_argument("--out", default="runs", help="output folder (default: runs)")
    loud = run.add_mutually_exclusive_group()
    loud.add_argument("--quiet", action="store_true",
                      help="no trial or progress lines: only warnings, errors and the summary")
    loud.add_argument("--verbose", action="store_true",
                      help="also Keras' line per epoch and Optuna's own trial log")
    run.add_argument("--drop-queue", action="store_true",
                     help="grid: fail queued units this command does not ask for (e.g. the "
                          "extra seeds of an earlier, larger run)")
    run.add_argument("--engine", choices=engines.names(),
                     help="who samples a search preset (default: optuna)")
    run.add_argument("--tuner", choices=presets.TUNERS,
                     help="KerasTuner's tuner with --engine keras-tuner (default: hyperband)")
    run.add_argument("--keep-models", choices=KEEP,
                     help="which trials keep their trained model: best (a trial better than "
                          "every completed one of its cell when it ends; the default), all, "
                          "none")
    run.set_defaults(func=handlers["run"])

    # Where the study commands find a store (and, below, a study in it): argparse parents.
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--storage")
    store.add_argument("--out", default="runs")
    study = argparse.ArgumentParser(add_help=False, parents=[store])
    study.add_argument("--study-name", required=True)

    lst = sub.add_parser("list", parents=[store], help="list the studies in a storage")
    lst.set_defaults(func=handlers["list"])

    show = sub.add_parser("show", parents=[study],
                          help="a study's settings, trial counts, cells and best cell")
    show.add_argument("--csv", help="also write one row per trial (every attr) to this file "
                                    "(a symbolic link there is replaced, not written through); "
                                    "'-': only that table, to stdout")
    show.set_defaults(func=handlers["show"])

    exp = sub.add_parser("export", parents=[study, kept],
                         help="write the best architecture of a study")
    exp.set_defaults(func=handlers["export"])

    rep = sub.add_parser("report", parents=[study, kept],
                         help="write report.html, scaling.json and cells.csv")
    rep.add_argument("--png", action="store_true", help="also write PNGs of the key figures")
    rep.add_argument("--cell", action="append", default=[], metavar="CELL",
                     help="also look inside this cell's trained net, as inside the best "
                          "cell's (repeatable; cells as `show` names them)")
    rep.add_argument("--against", metavar="STUDY",
                     help="also set the cells against the same cells and seeds of STUDY, "
                          "trained another way (e.g. a schedule twice as long)")
    rep.add_argument("--against-storage", metavar="URL",
                     help="the storage holding --against's study (default: --storage)")
    rep.set_defaults(func=handlers["report"])

    dash = sub.add_parser("dashboard", parents=[store, kept],
                          help="serve optuna-dashboard on the study store")
    dash.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    dash.add_argument("--port", type=int, default=8080)
    dash.add_argument("--allow-remote", action="store_true",
                      help="allow a --host other machines can reach (no authentication!)")
    dash.set_defaults(func=handlers["dashboard"])
    return parser
