"""Command line: run, list, show, export, report and watch width/depth scaling studies.

    python -m search.study [run] [--preset NAME|FILE.toml] [--storage URL] ...
    python -m search.study list   [--storage URL]
    python -m search.study show   --study-name NAME [--storage URL] [--csv FILE|-]
    python -m search.study export --study-name NAME [--storage URL] [--out DIR]
    python -m search.study report --study-name NAME [--storage URL] [--out DIR] [--png]
    python -m search.study dashboard [--storage URL] [--host 127.0.0.1] [--port 8080]

Errors a user can fix print one line and exit 2 (usage) or 1 (data, storage); tracebacks
are kept for bugs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import optuna

from search import arguments, engines, interrupt, presets
from search.config import ConfigError, TrainConfig, epochs_text
from search.data import DataError, load_splits
from search.errors import ExportError, ReportError
from search.files import write_atomically
from spaces import SpecError
from storage import (
    StorageError,
    StorageURLError,
    claims,
    default_url,
    mask_url,
    network_filesystem_warning,
    open_storage,
    trial_records,
)
from storage.access import check_writable, reading_url
from storage.artifacts import default_location, open_store
from storage.masking import mask_secrets, remember_secrets
from storage.records import spread_fit
from storage.studies import (
    IDENTITY,
    StudyNameError,
    check_study_name,
    find_study,
    folder_name,
    open_study,
)

COMMANDS = ("run", "list", "show", "export", "report", "dashboard")
USAGE_ERRORS = (presets.PresetError, SpecError, ConfigError, StorageURLError, StudyNameError)
RUNTIME_ERRORS = (DataError, StorageError, ExportError, ReportError)
# Exit codes: 0 done (a grid: every unit settled), 1 data or storage error, 2 usage error,
# 3 a grid left incomplete by --timeout or --trials, 130 interrupted (Ctrl-C, SIGTERM).
EXIT_INCOMPLETE = 3


def _storage_url(args: argparse.Namespace) -> str:
    return args.storage or default_url(args.out)


def _existing_storage(args: argparse.Namespace, url: str | None = None
                      ) -> optuna.storages.BaseStorage:
    """For commands that only read: never create a store behind a mistyped path. ``url``
    names another store than the command's own."""
    return interrupt.shield_writes(open_storage(reading_url(url or _storage_url(args)),
                                                create=False))


def _export_dir(out: str | Path, study_name: str) -> Path:
    return Path(out) / folder_name(study_name)


def _check_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create --out {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise ExportError(f"cannot write to --out {out}: permission denied")


def cmd_run(args: argparse.Namespace) -> int:
    interrupt.install()  # Ctrl-C, docker stop, kubectl delete: end the running trial cleanly
    spec = presets.load(
        args.preset, dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs,
        seeds=args.seeds, trials=args.trials, timeout=args.timeout,
        train_subset=args.train_subset, batch_size=args.batch_size, storage=args.storage,
        study_name=args.study_name, out=args.out, engine=args.engine, tuner=args.tuner,
        keep_models=args.keep_models, artifacts=args.artifacts,
    )
    engine = engines.for_spec(spec)  # e.g. KerasTuner on a grid: refused before any write
    _check_out(spec.out)
    url = spec.storage or default_url(spec.out)
    check_writable(url)
    data = load_splits(spec.dataset, data_dir=spec.data_dir, split_seed=spec.split_seed,
                       train_subset=spec.train_subset)
    print(f"study {spec.name!r} (preset {spec.preset}, {spec.mode}) in {mask_url(url)}")
    print(f"data: {data!r}")
    interrupt.check()  # a signal while the data loaded: stop before any study is created
    storage = interrupt.shield_writes(open_storage(url, wait=interrupt.sleep))
    warning = network_filesystem_warning(url)
    if warning:
        print(warning, file=sys.stderr)
    models = _artifacts(spec.artifacts, url, spec.out)
    # Made once the store opened (a file that is no store gets no folder beside it), and
    # before a study is: a folder that cannot be written is refused with nothing stored.
    store = open_store(models) if spec.keep_models != "none" else None
    if store is not None:
        print(f"models: {spec.keep_models} kept in {models}")
    interrupt.check()
    with interrupt.shielded():  # the study and its identity are stored together
        study, created = open_study(storage, spec.name, spec.identity(),
                                    sampler=presets.make_sampler(spec),
                                    pruner=presets.make_pruner(spec))

    from search.analysis import analyze, cell_stats
    from search.console import cell_table, trial_line, wrap_headline
    from search.engines.execution import timed_out
    from search.export import export
    from search.objective import Objective, grid_flops  # TensorFlow: only to train
    from search.progress import Progress
    from search.report import headline, training_images

    grid = spec.mode == "grid"
    rule = spec.rule() if grid else None
    if grid:
        seeds = (f"{spec.seeds} seeds = {len(spec.units())} trials" if rule is None else
                 f"{rule.minimum} to {rule.cap} seeds (sequential: {len(spec.units())} "
                 "trials to start)")
        print(f"grid: {len(spec.cells())} cells x {seeds}, "
              f"{epochs_text(spec.train.__dict__)} each; completed ones are skipped")
    flops = grid_flops(spec, data) if grid else {}
    cap = spec.seeds if rule is None else rule.cap  # a sequential grid's plan adds seeds
    progress = Progress(study, spec.train, len(data.x_train),
                        {c.key: spec.seeds for c in spec.cells()}, flops, trial_line,
                        quiet=args.quiet, most={c.key: cap for c in spec.cells()})
    objective = Objective(spec, data, on_epoch=progress.epoch,
                          fit_verbose=2 if args.verbose else 0, store=store)
    start = time.monotonic()
    context = engines.Context(data=data, objective=objective, report=progress.trial_done,
                              created=created, drop_queue=args.drop_queue, cost=flops)
    try:
        ran = engine.run(spec, storage, study, context)
    finally:
        progress.close()
    print(f"\nthis run: {ran} trial(s) in {time.monotonic() - start:.0f} s\n")
    records = trial_records(study)
    cells = cell_stats(records)
    print(cell_table(cells, expected=len(spec.cells()) if spec.mode == "grid" else None))
    if cells:
        exported = export(spec.name, spec.dataset, records, _export_dir(spec.out, spec.name),
                          models=models)
        print(f"\nbest architecture: {exported.json}"
              + (f" (trained model: {exported.model.name})" if exported.model else ""))
        _warn(exported.warnings)
        analysis = analyze(records, images=training_images(spec.identity()), rule=spec.rule())
        print(wrap_headline(["", *headline(analysis)]))
    # A grid's loop ends complete (settled in one read of the study while nothing ran) or
    # stopped by --timeout or --trials; only then can units be left, so only then count:
    # a count read now could see seeds another worker's late result made its plan ask for.
    if grid and ((spec.trials is not None and ran >= spec.trials) or timed_out(spec, start)):
        from search.engines.grid import asked  # a sequential grid's units grow with its plan

        trials = study.get_trials(deepcopy=False)
        units = asked(spec, trials)
        left = len(claims.open_units(trials, units))
        if left:
            print(f"incomplete: {left} of {len(units)} units not done (stopped by "
                  "--timeout or --trials); run the same command to resume", file=sys.stderr)
            return EXIT_INCOMPLETE
    return 0


def _printable(name: str) -> str:
    """A name as one terminal line (names from other tools may hold anything)."""
    return name if name.isprintable() else repr(name)


def cmd_list(args: argparse.Namespace) -> int:
    from search.analysis import best_cell, cell_stats

    storage = _existing_storage(args)
    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    if not summaries:
        print(f"no studies in {mask_url(_storage_url(args))}")
        return 0
    print(f"{'study':<32}{'mode':<8}{'dataset':<15}{'complete':>9}{'trials':>8}"
          f"  best cell (mean val over seeds)")
    for s in summaries:
        identity = json.loads(s.user_attrs.get(IDENTITY, "{}"))
        study = optuna.load_study(study_name=s.study_name, storage=storage)
        records = trial_records(study)
        cells = cell_stats(records)
        best = best_cell(cells) if cells else None
        best_text = f"{best.val.mean:.4f} {best.cell}" if best else "—"
        print(f"{_printable(s.study_name):<32}{identity.get('mode', '?'):<8}"
              f"{identity.get('dataset', '?'):<15}{sum(r.complete for r in records):>9}"
              f"{s.n_trials:>8}  {best_text}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from search.analysis import best_cell, cell_stats
    from search.console import cell_table
    from search.report import training_images

    study = find_study(_existing_storage(args), args.study_name)
    if args.csv == "-":  # the table alone, for a pipe
        spread_fit(study.trials_dataframe(multi_index=False)).to_csv(sys.stdout, index=False)
        return 0
    identity = json.loads(study.user_attrs.get(IDENTITY, "{}"))
    trials = study.get_trials(deepcopy=False)
    images = training_images(identity)
    print(f"study {_printable(study.study_name)}: {identity.get('mode', '?')} on "
          f"{identity.get('dataset', '?')}, "
          f"{f'{images:,}' if images else 'unknown'} training images per epoch")
    changed = identity.get("train", {})  # the identity keeps only non-default settings
    print(f"training: {epochs_text({**TrainConfig().__dict__, **changed})}; settings "
          f"other than the defaults: {json.dumps(changed)}")
    for grid in identity.get("grids", []) or [identity.get("space") or {}]:
        varying = ", ".join(f"{p['name']} {p.get('choices') or [p.get('low'), p.get('high')]}"
                            for p in grid.get("params", []))
        print(f"  {grid.get('family', '?')}: {varying}; fixed {json.dumps(grid.get('fixed', {}))}")
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    print("trials: " + (", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
                        or "none"))
    records = trial_records(study)
    cells = cell_stats(records)
    print("", cell_table(cells), sep="\n")
    if cells:
        best = best_cell(cells)
        print(f"\nbest cell (mean validation accuracy over {best.n} seed(s)): {best.cell}, "
              f"val {best.val.mean:.4f}, test {best.test.mean:.4f}")
    if args.csv:
        frame = spread_fit(study.trials_dataframe(multi_index=False))
        replaced = _write_csv(frame, Path(args.csv))
        print(f"wrote {args.csv} ({len(frame)} trials)" + (
            f"; it was a symbolic link to {replaced}, which is left as it was" if replaced
            else ""))
    return 0


def _write_csv(frame: Any, path: Path) -> str | None:
    """Write ``frame`` to ``path`` through a new file renamed over it: a symbolic link at
    ``path`` is replaced, never written through (its target is left as it was). Returns
    the link's target when one was replaced."""
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: the folder {folder} does not exist")
    link = os.readlink(path) if path.is_symlink() else None
    try:
        write_atomically(path, frame.to_csv(index=False))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return link


def _artifacts(folder: str | None, url: str, out: str | Path) -> Path:
    """The folder of the study's kept models: ``--artifacts``, else beside the storage."""
    return Path(folder) if folder else default_location(url, out)


def _warn(lines: Sequence[str]) -> None:
    for line in lines:
        print(mask_secrets(f"warning: {line}"), file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    from search.export import export

    study = find_study(_existing_storage(args), args.study_name)
    dataset = json.loads(study.user_attrs.get(IDENTITY, "{}")).get("dataset")
    exported = export(args.study_name, dataset, trial_records(study),
                      _export_dir(args.out, args.study_name),
                      models=_artifacts(args.artifacts, _storage_url(args), args.out))
    print(f"wrote {exported.json} and {exported.md}"
          + (f", and the trained model {exported.model}" if exported.model else ""))
    _warn(exported.warnings)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from search.console import wrap_headline
    from search.report import write_report

    if args.against_storage and not args.against:
        print("error: --against-storage names the store of --against's study: give --against "
              "STUDY too", file=sys.stderr)
        return 2
    study = find_study(_existing_storage(args), args.study_name)
    against = None
    if args.against:  # the same cells and seeds in another study (its store, or this one)
        against = find_study(_existing_storage(args, args.against_storage), args.against)
    paths = write_report(study, _export_dir(args.out, args.study_name), png=args.png,
                         cells=args.cell, against=against,
                         artifacts=_artifacts(args.artifacts, _storage_url(args), args.out))
    print(f"wrote {paths.html}, {paths.scaling_json.name} and {paths.cells_csv.name}")
    _warn(paths.warnings)
    if not paths.in_dashboard:
        print("warning: the store is read-only: the figures and note were not added to the "
              "dashboard", file=sys.stderr)
    print(wrap_headline(["", *paths.headline]))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from search.dashboard import loopback_address, serve

    if not 1 <= args.port <= 65535:
        print(f"error: --port must be 1-65535, got {args.port}", file=sys.stderr)
        return 2
    loopback = loopback_address(args.host)
    if loopback is not None:
        args.host = loopback  # bound as written: 127.1 is 127.0.0.1
    else:
        if not args.allow_remote:
            print(f"error: --host {args.host} is reachable from other machines and the "
                  "dashboard can delete studies without a password; add --allow-remote "
                  "to serve it anyway", file=sys.stderr)
            return 2
        print(f"warning: serving on {args.host}: anyone who can reach port {args.port} can "
              "rename and delete studies", file=sys.stderr)
    try:
        serve(_storage_url(args), args.host, args.port,
              _artifacts(args.artifacts, _storage_url(args), args.out))
    except OSError as exc:  # port in use, address not available, port out of range
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}: choose one of {', '.join(COMMANDS)} "
              "(see --help)", file=sys.stderr)
        return 2
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "run")  # options alone run the default preset
    handlers = {"run": cmd_run, "list": cmd_list, "show": cmd_show, "export": cmd_export,
                "report": cmd_report, "dashboard": cmd_dashboard}
    args = arguments.build_parser(__doc__.split("\n")[0], handlers).parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.INFO if getattr(args, "verbose", False)
                                 else optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # The engines beat for their trials themselves (storage.heartbeat), outside Study.optimize.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
    remember_secrets(getattr(args, "storage", None))  # masked in every error line
    if (bad := _not_utf8(args)) is not None:
        print(mask_secrets(f"error: {bad}"), file=sys.stderr)
        return 2
    # Every command handles SIGTERM (ignored by default as a container's process 1); only
    # `run` lets a first signal finish the batch in progress. Writes are never cut.
    interrupt.install(immediate=args.command != "run")
    try:
        if getattr(args, "study_name", None) is not None:
            args.study_name = check_study_name(args.study_name)  # NFC, one line
        code = args.func(args)
        interrupt.check()  # a first signal `run` noticed only after its last trial
        return code
    except USAGE_ERRORS as exc:
        print(mask_secrets(f"error: {exc}"), file=sys.stderr)
        return 2
    except RUNTIME_ERRORS as exc:
        print(mask_secrets(f"error: {exc}"), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted: {_interrupted(args.command)}", file=sys.stderr)
        return 130


def _not_utf8(args: argparse.Namespace) -> str | None:
    """The first option whose text holds bytes that are not UTF-8 (Latin-1, UTF-16; they
    reach Python as surrogates, PEP 383): names and paths are stored and printed as UTF-8.
    The study name has its own check (``check_study_name``)."""
    for name, value in vars(args).items():
        if isinstance(value, str) and name != "study_name":
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                shown = mask_url(value) if name == "storage" else value
                return f"--{name.replace('_', '-')} {shown!r} is not valid UTF-8 text"
    return None


def _interrupted(command: str | None) -> str:
    """What an interrupted command left: a trial is said to be failed only if one was."""
    if command != "run":
        return "stopped"
    execution = sys.modules.get("search.engines.execution")  # loaded by a run's engine
    if execution is not None and execution.interrupted_trials:
        return "the running trial is marked FAIL; run the same command to resume"
    return "stopped, no trial was running; run the same command to resume"


class _Masked:
    """A text stream that masks every password this process has seen (its storage URL's,
    and every piece of it) in what is written: drivers' messages, warnings, tracebacks."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(mask_secrets(text))

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _mask_streams() -> None:
    """Put :class:`_Masked` around stdout and stderr, and around the streams of the log
    handlers made before (Optuna's, created when it was imported, logs failed trials
    with their exception's text)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Masked(out), _Masked(err)  # type: ignore[assignment]
    masked = {id(out): sys.stdout, id(err): sys.stderr}
    for name in (None, "optuna"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in masked:
                handler.setStream(masked[id(handler.stream)])


if __name__ == "__main__":
    _mask_streams()
    try:
        status = main()
    except KeyboardInterrupt:  # a signal just after main's own handling: still no traceback
        status = 130
    sys.exit(status)
