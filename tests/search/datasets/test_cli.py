"""The user's own data through the real CLI: bad data is one line and nothing stored; good
data runs a study whose networks take its shape and classes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from tests import cli
from tests.search.datasets.make import folder, npz, png

TINY = ('mode = "grid"\n[train]\nepochs = 1\n'
        '[[grid]]\nfamily = "dense"\nparams = { units = [8] }\n'
        '[[grid]]\nfamily = "cnn"\nparams = { width = [4], depth = [1] }\n')


def _store(tmp: Path) -> str:
    """A store already holding study 'kept' with one trial."""
    url = f"sqlite:///{tmp}/studies.db"
    optuna.create_study(storage=url, study_name="kept").optimize(lambda t: 0.5, n_trials=1)
    return url


def _snapshot(url: str) -> list:
    return [sorted(optuna.get_all_study_names(url)),
            [(t.number, t.state, t.values) for t in
             optuna.load_study(study_name="kept", storage=url).trials]]


def _mixed_sizes(t: Path) -> str:
    root = folder(t / "f")
    (root / "train" / "owl" / "3.png").write_bytes(png(np.zeros((10, 12), np.uint8)))
    return f"folder:{root}"


def _corrupted(t: Path) -> str:
    """A folder whose one PNG is cut short: only decoding finds it, after TensorFlow's
    import, which must not add its log lines to the one-line error."""
    root = folder(t / "f")
    image = root / "train" / "dog" / "2.png"
    image.write_bytes(image.read_bytes()[:40])
    return f"folder:{root}"


def _without(split: str) -> Callable[[Path], str]:
    def make(t: Path) -> str:
        root = folder(t / "f")
        for path in sorted((root / split).rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        (root / split).rmdir()
        return f"folder:{root}"
    return make


CASES = {
    "mismatched shapes": (lambda t: f"npz:{npz(t / 'd.npz', x_test=np.zeros((6, 12, 11)))}",
                          {}, 1, "x_train images are 12x12x1 but x_test images are 12x11x1"),
    "label out of range": (lambda t: f"npz:{npz(t / 'd.npz', y_test=np.arange(6))}", {}, 1,
                           "y_test holds label 5, out of range 0..2"),
    "mixed image sizes": (_mixed_sizes, {}, 1, "images differ in size"),
    # TensorFlow's log level as the CLI sets it when the user has not (this process may
    # hold JAX's "1", set when Keras was imported here).
    "a corrupted image": (_corrupted, {"TF_CPP_MIN_LOG_LEVEL": "2"}, 1,
                          "train/dog/2.png: a corrupted image"),
    "missing train/": (_without("train"), {}, 1, "no train/ folder"),
    "missing test/": (_without("test"), {}, 1, "no test/ folder"),
    "over the cap": (lambda t: f"npz:{npz(t / 'd.npz')}", {"SEARCH_MAX_DATA_GB": "1e-6"}, 1,
                     "(raise SEARCH_MAX_DATA_GB to allow it)"),
    "a cap that is no number": (lambda t: f"npz:{npz(t / 'd.npz')}",
                                {"SEARCH_MAX_DATA_GB": "lots"}, 1,
                                "SEARCH_MAX_DATA_GB must be a positive number, got 'lots'"),
    "not an npz": (lambda t: (t / "d.npz").write_bytes(b"PK\x03\x04junk") and f"npz:{t}/d.npz",
                   {}, 1, "not a readable .npz archive"),
    "an unknown source": (lambda t: f"csv:{t}/d.csv", {}, 2,
                          "unknown dataset 'csv:"),
    "a network too deep for the images": (lambda t: f"npz:{npz(t / 'd.npz')}", {}, 2,
                                          "depth 4 pools a 12x12 input to 1x1"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_one_line_and_nothing_is_stored(tmp_path: Path, case: str) -> None:
    make, env, code, message = CASES[case]
    url = _store(tmp_path)
    before = _snapshot(url)
    depth = 4 if case.startswith("a network") else 1
    done = cli.run("run", "--preset", str(_preset(tmp_path, depth)), "--dataset", make(tmp_path),
                   "--storage", url, "--out", str(tmp_path / "out"), **env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert _snapshot(url) == before


def _preset(tmp: Path, depth: int = 1) -> Path:
    path = tmp / "tiny.toml"
    path.write_text(TINY.replace("depth = [1]", f"depth = [{depth}]"))
    return path


@pytest.mark.slow
@pytest.mark.trains
def test_a_tiny_study_on_the_users_npz_builds_for_its_shape_and_classes(tmp_path: Path) -> None:
    data = npz(tmp_path / "mine.npz")  # 3 classes, 12x12 grey, 12 training images
    url = f"sqlite:///{tmp_path}/s.db"
    done = cli.run("run", "--preset", str(_preset(tmp_path)), "--dataset", f"npz:{data}",
                   "--storage", url, "--study-name", "mine", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "input_shape=(12, 12, 1), classes=3" in done.stdout
    trials = optuna.load_study(study_name="mine", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:
        arch = json.loads(t.user_attrs["arch"])
        assert (arch["input_shape"], arch["num_classes"]) == ([12, 12, 1], 3)
    identity = json.loads(optuna.load_study(study_name="mine", storage=url)
                          .user_attrs["identity"])
    assert identity["dataset"] == f"npz:{data}"
