"""The training path on real Fashion-MNIST data (a small subset)."""

import math

import keras
import numpy as np
import pytest

import spaces
from search.config import ConfigError, TrainConfig, split_values
from search.data import load_splits
from search.train import TrainingDiverged, compiled_model, network, train


@pytest.fixture(scope="module")
def small():
    return load_splits("fashion_mnist", train_subset=300)


@pytest.mark.trains
def test_train_fits_selects_on_validation_and_reports_test(small):
    spec = spaces.from_dict({"family": "cnn", "width": 4, "depth": 2})
    result = train(spec, small, TrainConfig(epochs=2, batch_size=64), seed=0)
    assert result.epochs == 2 and len(result.val_curve) == 2
    assert result.val_accuracy == result.val_curve[-1]  # fixed epochs: the last one counts
    assert result.best_epoch == 2 and result.converged is False
    assert 0.0 <= result.train_accuracy <= 1.0 and result.train_loss > 0
    assert 0.0 <= result.test_accuracy <= 1.0
    assert result.val_accuracy > 0.2  # well above chance (0.1) even after 600 examples
    assert result.train_seconds > 0


@pytest.mark.trains
def test_same_seed_same_result_other_seed_other_result(small):
    spec = spaces.from_dict({"family": "dense", "units": 16})
    cfg = TrainConfig(epochs=1, batch_size=32, augment="flip", input_scaling="symmetric")
    a = train(spec, small, cfg, seed=3)
    b = train(spec, small, cfg, seed=3)
    c = train(spec, small, cfg, seed=4)
    assert a.val_curve == b.val_curve and a.test_accuracy == b.test_accuracy
    assert a.test_accuracy != c.test_accuracy


class _ValidationAtEnd(keras.callbacks.Callback):
    """Evaluates the validation split with the weights the model ends training with."""

    def __init__(self, data):
        super().__init__()
        self.data, self.accuracy = data, None

    def on_train_end(self, logs=None):
        self.accuracy = self.model.evaluate(self.data.x_val, self.data.y_val, verbose=0,
                                            return_dict=True)["accuracy"]


@pytest.mark.trains
def test_converged_training_stops_on_patience_and_restores_the_best_epoch(small):
    spec = spaces.from_dict({"family": "dense", "units": 32})
    cfg = TrainConfig(epochs=40, batch_size=32, stop="converged", patience=2,
                      learning_rate=0.01)
    probe = _ValidationAtEnd(small)
    result = train(spec, small, cfg, seed=0, callbacks=[probe])
    assert result.converged is True
    assert result.epochs < 40 and result.epochs == len(result.val_curve)
    assert result.epochs - result.best_epoch == 2  # stopped after `patience` flat epochs
    assert result.val_accuracy == max(result.val_curve) == result.val_curve[result.best_epoch - 1]
    # The weights the test set sees are the best epoch's, not the last epoch's.
    assert probe.accuracy == pytest.approx(result.val_accuracy, abs=1e-6)


@pytest.mark.trains
def test_patience_cannot_stop_a_run_before_stop_after_but_every_epoch_competes_for_best(small):
    spec = spaces.from_dict({"family": "dense", "units": 32})
    early = train(spec, small, TrainConfig(epochs=40, batch_size=32, stop="converged",
                                           patience=2, learning_rate=0.01), seed=0)
    assert early.epochs < 20  # without the floor, patience ends this run early
    cfg = TrainConfig(epochs=40, batch_size=32, stop="converged", patience=2,
                      learning_rate=0.01, stop_after=0.5)
    probe = _ValidationAtEnd(small)
    result = train(spec, small, cfg, seed=0, callbacks=[probe])
    assert result.epochs >= 20 and result.epochs == len(result.val_curve)
    # The best epoch is searched over all epochs run, the first half included.
    assert result.val_accuracy == max(result.val_curve) == result.val_curve[result.best_epoch - 1]
    assert probe.accuracy == pytest.approx(result.val_accuracy, abs=1e-6)


@pytest.mark.trains
def test_a_net_still_improving_at_the_epoch_limit_is_not_converged(small):
    spec = spaces.from_dict({"family": "dense", "units": 32})
    cfg = TrainConfig(epochs=2, batch_size=64, stop="converged", patience=5,
                      lr_schedule="plateau")
    result = train(spec, small, cfg, seed=0)
    assert result.converged is False and result.epochs == 2
    assert result.val_accuracy == max(result.val_curve)


@pytest.mark.trains
def test_a_diverging_loss_raises_with_the_reason(small):
    spec = spaces.from_dict({"family": "dense", "units": 64})
    cfg = TrainConfig(epochs=2, optimizer="sgd", learning_rate=1e30)
    with pytest.raises(TrainingDiverged, match=r"loss became (nan|inf) in epoch 1"):
        train(spec, small, cfg, seed=0)


class _OptimizerProbe(keras.callbacks.Callback):
    """What the fitted optimizer did: its learning rate at each epoch's start and after the
    last step, its class and config, and the squared norm of the weights it ended with."""

    def __init__(self):
        super().__init__()
        self.rates, self.kind, self.config, self.squared_norm = [], None, None, None

    def _rate(self):
        return float(self.model.optimizer.learning_rate)  # the schedule at its iterations

    def on_epoch_begin(self, epoch, logs=None):
        self.rates.append(self._rate())

    def on_train_end(self, logs=None):
        self.rates.append(self._rate())
        self.kind, self.config = type(self.model.optimizer), self.model.optimizer.get_config()
        self.squared_norm = sum(float(np.sum(np.square(w.numpy())))
                                for w in self.model.trainable_weights)


@pytest.mark.trains
def test_cosine_schedule_decays_the_learning_rate_to_zero_over_the_epochs(small):
    spec = spaces.from_dict({"family": "cnn", "width": 4, "depth": 1, "batch_norm": True})
    cfg = TrainConfig(epochs=4, batch_size=100, learning_rate=0.01, lr_schedule="cosine",
                      augment="flip+shift")
    probe = _OptimizerProbe()
    assert math.isfinite(train(spec, small, cfg, seed=0, callbacks=[probe]).val_accuracy)
    # Epoch e starts after e of the run's epochs: 0.01 * (1 + cos(pi e / 4)) / 2, ending at 0.
    expected = [0.01 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert probe.rates == pytest.approx(expected, abs=1e-7)


@pytest.mark.trains
def test_adamw_shrinks_the_weights_by_its_configured_decay(small):
    spec = spaces.from_dict({"family": "dense", "units": 16})

    def fitted(weight_decay):
        probe = _OptimizerProbe()
        cfg = TrainConfig(epochs=2, batch_size=50, optimizer="adamw", learning_rate=0.01,
                          weight_decay=weight_decay)
        train(spec, small, cfg, seed=0, callbacks=[probe])
        return probe

    free, decayed = fitted(0.0), fitted(1.0)
    # Same seed, same batches: only the decoupled decay (1 % of each weight per step here)
    # tells the two runs apart; ignored, both would end with the same weights.
    assert decayed.squared_norm < 0.9 * free.squared_norm
    assert decayed.kind is keras.optimizers.AdamW
    assert (free.config["weight_decay"], decayed.config["weight_decay"]) == (0.0, 1.0)


def test_values_split_into_architecture_and_training():
    arch, training = split_values({"width": 8, "learning_rate": 0.1, "augment": "flip"})
    assert arch == {"width": 8} and training == {"learning_rate": 0.1, "augment": "flip"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"epochs": 0}, "epochs must be an integer from 1 to 10,000, got 0"),
     ({"epochs": 10**20}, "epochs must be an integer from 1 to 10,000"),
     ({"batch_size": 10**11}, "batch_size must be an integer from 1 to 65,536"),
     ({"learning_rate": -1.0}, "learning_rate must be a finite number > 0"),
     ({"learning_rate": float("inf")}, "learning_rate must be a finite number > 0"),
     ({"weight_decay": float("nan")}, "weight_decay must be a finite number >= 0"),
     ({"augment": "rotate"}, "augment must be one of"),
     ({"stop": "never"}, "stop must be one of epochs, converged"),
     ({"patience": 0}, "patience must be an integer from 1 to 10,000"),
     ({"stop_after": 1.5}, "stop_after must be a number from 0 to 1"),
     ({"stop_after": float("nan")}, "stop_after must be a number from 0 to 1"),
     ({"min_delta": -0.1}, "min_delta must be in"),
     ({"label_smoothing": 1.0}, "label_smoothing must be a number in"),
     ({"label_smoothing": float("nan")}, "label_smoothing must be a number in"),
     ({"erasing": 1.5}, "erasing must be a number from 0 to 1, got 1.5"),
     ({"erasing": True}, "erasing must be a number from 0 to 1, got True")],
)
def test_bad_training_settings(fields, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**fields)


def test_label_smoothing_raises_the_loss_of_a_confident_correct_prediction():
    spec = spaces.from_dict({"family": "dense", "units": 8})
    labels = np.array([0, 3, 7])
    confident = np.full((3, 10), 0.001, np.float32)
    confident[np.arange(3), labels] = 0.991

    def compiled_loss(cfg):
        model = compiled_model(spec, cfg, train_size=300)
        return model.loss, float(model.compute_loss(y=labels, y_pred=confident))

    loss, plain = compiled_loss(TrainConfig())
    assert loss == "sparse_categorical_crossentropy"  # the path studies ran before smoothing
    assert plain == pytest.approx(-math.log(0.991), rel=1e-4)
    # Smoothed by 0.1 over 10 classes: target 0.91 on the true class, 0.01 on each other.
    _, smoothed = compiled_loss(TrainConfig(label_smoothing=0.1))
    assert smoothed == pytest.approx(-(0.91 * math.log(0.991) + 0.09 * math.log(0.001)),
                                     rel=1e-4)
    assert smoothed > 50 * plain


def test_erasing_hits_each_training_image_with_its_probability_and_no_evaluated_one():
    keras.utils.set_random_seed(0)
    model = network(spaces.from_dict({"family": "dense", "units": 8}),
                    TrainConfig(erasing=0.5))
    pipeline = keras.Sequential(model.layers[:-1])  # everything before the architecture
    images = np.random.default_rng(0).uniform(0.1, 1.0, (2000, 28, 28, 1)).astype(np.float32)
    erased = np.any(np.asarray(pipeline(images, training=True)) != images, axis=(1, 2, 3))
    # Keras' RandomErasing(factor=0.5) would erase a quarter (a probability drawn from [0, 0.5]).
    assert 0.45 < erased.mean() < 0.55
    np.testing.assert_array_equal(np.asarray(pipeline(images, training=False)), images)


class _Predictions(keras.callbacks.Callback):
    """Validation predictions of the trained model and of its architecture alone."""

    def __init__(self, x):
        super().__init__()
        self.x, self.model_out, self.body_out = x, None, None

    def on_train_end(self, logs=None):
        self.model_out = self.model.predict(self.x, verbose=0)
        self.body_out = self.model.layers[-1].predict(self.x, verbose=0)


@pytest.mark.trains
def test_erasing_changes_what_training_sees_and_nothing_validation_or_test_see(small):
    spec = spaces.from_dict({"family": "dense", "units": 16})
    plain = train(spec, small, TrainConfig(epochs=1, batch_size=50), seed=0)
    probe = _Predictions(small.x_val)
    erased = train(spec, small, TrainConfig(epochs=1, batch_size=50, erasing=1.0), seed=0,
                   callbacks=[probe])
    # Same seed, same initial weights and batches: only erased training images differ.
    assert erased.train_loss != plain.train_loss
    np.testing.assert_array_equal(probe.model_out, probe.body_out)


@pytest.mark.trains
def test_trained_graphs_are_released_between_trials(small):
    """TensorFlow keeps each traced train step alive through its gradient registry; a long
    study would grow by megabytes per trial. After ``train`` returns, nothing of it stays."""
    import gc

    from compat.tensorflow import gradient_registry

    def traced_train_steps() -> int:  # TensorFlow's FuncGraph, named without its private module
        gc.collect()
        return sum(any(c.__name__ == "FuncGraph" for c in type(o).__mro__)
                   and o.name == "one_step_on_data" for o in gc.get_objects())

    registry = gradient_registry()
    spec = spaces.from_dict({"family": "cnn", "width": 4, "depth": 1})
    train(spec, small, TrainConfig(epochs=1), seed=0)
    before = (set(registry), traced_train_steps())
    for seed in (1, 2):
        train(spec, small, TrainConfig(epochs=1), seed=seed)
    assert (set(registry), traced_train_steps()) == before
    assert before[1] == 0


@pytest.mark.trains
def test_a_batch_norm_net_is_validated_with_settled_statistics():
    """After 2 short epochs (25 steps each) validation must not run on moving statistics
    still near their start: 0.405 with Keras' default momentum, 0.80 with ours."""
    data = load_splits("fashion_mnist", train_subset=2000)
    spec = spaces.from_dict({"family": "cnn", "width": 16, "depth": 2, "batch_norm": True})
    result = train(spec, data, TrainConfig(epochs=2, batch_size=64), seed=0)
    assert result.val_accuracy > 0.7
