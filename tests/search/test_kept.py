"""Which kept model stands for a cell, and a copy of it checked as a whole .keras archive
(no Keras: the archive is made here)."""

import zipfile
from pathlib import Path

import pytest

from search.kept import fetch, kept_trial
from storage.errors import ArtifactError
from tests.search.analysis.synthetic import record


@pytest.mark.parametrize(("kept", "expected"), [((0, 1), 1), ((0,), 0), ((), None)])
def test_the_model_that_stands_for_a_cell_is_its_best_kept_seed_by_validation(kept, expected):
    records = [record(seed, "cnn", {"width": 8}, seed, 0.7, val=0.8 + seed / 100,
                      model_artifact=f"id-{seed}" if seed in kept else None)
               for seed in (0, 1)]
    found = kept_trial(records, "cnn:width=8")
    assert (None if found is None else found.seed) == expected


def stored(tmp_path: Path, name: str, members: dict[str, bytes]) -> Path:
    """An artifact ``name`` in the store folder: a zip of ``members``."""
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    with zipfile.ZipFile(folder / name, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return folder


WHOLE = {"metadata.json": b"{}", "config.json": b"{}", "model.weights.h5": b"\x89HDF"}


def test_a_kept_model_is_copied_whole_and_a_missing_or_corrupt_one_is_one_line(tmp_path):
    folder = stored(tmp_path, "good", WHOLE)
    dest = tmp_path / "out" / "best_model.keras"
    dest.parent.mkdir()
    dest.write_text("an earlier export's")
    fetch(folder, record(3, "cnn", {"width": 8}, 0, 0.7, model_artifact="good"), dest)
    assert zipfile.ZipFile(dest).read("config.json") == b"{}"
    stored(tmp_path, "not-keras", {"notes.txt": b"hello"})
    (folder / "truncated").write_bytes((folder / "good").read_bytes()[:40])
    for artifact, why in (("gone", "is missing from"), ("not-keras", "not a whole .keras"),
                          ("truncated", "not a whole .keras")):
        with pytest.raises(ArtifactError, match=why) as error:
            fetch(folder, record(3, "cnn", {"width": 8}, 0, 0.7, model_artifact=artifact),
                  dest)
        assert "\n" not in str(error.value) and "trial 3 (cnn:width=8, seed 0)" in str(
            error.value)
    assert zipfile.ZipFile(dest).read("config.json") == b"{}"  # the good copy is kept
    assert sorted(p.name for p in dest.parent.iterdir()) == ["best_model.keras"]
