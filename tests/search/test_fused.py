"""Seeds of one cell in one fused model: independent members, each stopped and stored alone."""

import dataclasses

import keras
import numpy as np
import optuna
import pytest

from search.config import TrainConfig
from search.data import load_splits
from search.fused import epoch_batches, fused_model, member_order, train_fused
from search.objective import Objective
from search.presets import StudySpec, resolve
from search.train import compiled_model, training_scope
from spaces.space import Space
from storage import claims, records

pytestmark = pytest.mark.trains

DENSE = Space.parse({"family": "dense", "params": {"units": [16]}})
# Patience 1 at a high learning rate: on 300 images validation accuracy stalls early, after
# a different number of epochs for each of these seeds.
STOPPING = TrainConfig(epochs=6, batch_size=32, stop="converged", patience=1,
                       learning_rate=0.01)


@pytest.fixture(scope="module")
def small():
    return load_splits("fashion_mnist", train_subset=300)


def _arch(data, cfg=STOPPING):
    return resolve("dense", {"units": 16}, cfg, data.input_shape, data.num_classes)


def test_each_member_starts_from_the_weights_train_draws_for_its_seed(small):
    arch, cfg = _arch(small)
    with training_scope():
        keras.utils.set_random_seed(4)
        alone = compiled_model(arch, cfg, len(small.x_train)).get_weights()
        _, (first, second) = fused_model(arch, cfg, [3, 4], len(small.x_train))
        a, b = first.get_weights(), second.get_weights()
    assert all(np.array_equal(w, v) for w, v in zip(b, alone, strict=True))
    assert not np.array_equal(a[0], b[0])  # each member its own initial weights


def test_each_member_is_fed_its_own_order_every_epoch():
    size, batch = 50, 16
    orders = [member_order(seed, 0, size) for seed in (3, 4)]
    assert sorted(orders[0]) == list(range(size)) and not np.array_equal(*orders)
    assert not np.array_equal(member_order(3, 1, size), orders[0])  # a new order each epoch
    images = np.arange(size, dtype=np.float32).reshape(size, 1, 1, 1)  # image i holds i
    batches = list(epoch_batches(images, np.arange(size), orders, batch))
    assert len(batches) == 4  # the last one partial, as a plain fit's
    for m, order in enumerate(orders):
        seen_x = np.concatenate([x[m].numpy().ravel() for x, _ in batches])
        seen_y = np.concatenate([y[m].numpy() for _, y in batches])
        assert np.array_equal(seen_x, order) and np.array_equal(seen_y, order)


def test_members_stop_on_their_own_curves_and_are_measured_at_their_best_epoch(small):
    # Test on the validation split: a member's test accuracy is then the validation accuracy
    # of the weights it is measured with, which must be its best epoch's, though the net
    # stepped on with the others after it stopped.
    data = dataclasses.replace(small, x_test=small.x_val, y_test=small.y_val)
    arch, cfg = _arch(data)
    counted: list[tuple[int, int]] = []
    results = train_fused(arch, cfg, data, [0, 2, 4],
                          on_epoch=lambda member, epoch, _: counted.append((member, epoch)))
    assert len({r.epochs for r in results}) == 3  # each stopped at its own epoch
    for member, r in enumerate(results):
        assert [e for m, e in counted if m == member] == list(range(r.epochs))
        assert len(r.val_curve) == len(r.epoch_seconds) == r.epochs
        assert r.val_accuracy == max(r.val_curve) == r.val_curve[r.best_epoch - 1]
        assert r.test_accuracy == r.val_accuracy
        if r.converged:  # train()'s rule: `patience` epochs without improvement
            assert r.epochs - r.best_epoch == cfg.patience
        else:
            assert r.epochs == cfg.epochs
    stopped = [r for r in results if r.converged and r.epochs < max(x.epochs for x in results)]
    assert any(r.val_curve[-1] < r.val_accuracy for r in stopped)  # restoring mattered


def test_refuses_what_cannot_be_fused(small):
    arch, cfg = _arch(small, dataclasses.replace(STOPPING, lr_schedule="plateau"))
    with pytest.raises(ValueError, match="plateau"):
        train_fused(arch, cfg, small, [0, 1])
    with pytest.raises(ValueError, match="distinct seeds"):
        train_fused(*_arch(small), small, [1, 1])
    spec = StudySpec(preset="p", description="", mode="grid", dataset="fashion_mnist",
                     train=cfg, seeds=2, grids=(DENSE,))
    assert not Objective(spec, small).fusable(spec.cells()[0].key)


def _types(value):
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sorted({type(v).__name__ for v in value})]
    return type(value).__name__


def test_a_fused_member_is_stored_like_a_unit_trained_alone(small, tmp_path):
    spec = StudySpec(preset="g", description="", mode="grid", dataset="fashion_mnist",
                     train=dataclasses.replace(STOPPING, epochs=2), seeds=3, grids=(DENSE,))
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/fused.db", study_name="g",
                                direction="maximize")
    claims.queue_missing(study, spec.units())
    alone, *fused = (study.ask() for _ in range(3))  # the queued units, seeds 0, 1, 2
    objective = Objective(spec, small)
    assert objective.fusable(alone.user_attrs[records.CELL])
    study.tell(alone, objective(alone))
    for trial, value in zip(fused, objective.fused(fused), strict=True):
        study.tell(trial, value)
    reference, *members = study.get_trials()
    assert [t.user_attrs[records.SEED] for t in (reference, *members)] == [0, 1, 2]
    for t in members:
        assert t.state == reference.state == optuna.trial.TrialState.COMPLETE
        assert t.params == reference.params
        assert set(t.user_attrs) == set(reference.user_attrs)
        assert _types(records.attrs(t)) == _types(records.attrs(reference))
        a = records.attrs(t)
        assert len(t.intermediate_values) == a[records.EPOCHS_RUN]
        assert t.value == t.intermediate_values[a[records.BEST_EPOCH] - 1]
