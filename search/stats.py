"""Generic statistics: t-intervals, paired tests, Holm's correction, a two-level bootstrap,
power-law fits, a lack-of-fit test and confusion counts.

Nothing here knows about studies, cells or trials: inputs are numbers and groups of
numbers, so each function can be checked against a hand computation.

SciPy is imported inside the functions that use it: its import takes longer than a whole
``list`` or ``show``, whose intervals come from the Student-t quantiles stored here
(:data:`T_QUANTILES`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
POWER_WITH_FLOOR, LOG_LOG = "power_with_floor", "log_log"
MIN_SIZES_FOR_FLOOR = 4  # a floor and an exponent need more sizes than a straight line
MIN_SIZES_FOR_LINE = 3   # two sizes fit any line exactly and test nothing
N_RESAMPLES = 1000
BOOTSTRAP_SEED = 0  # fixed, so a report is reproducible from the same records


@dataclass(frozen=True)
class Interval:
    """Mean of a sample with a two-sided t-interval (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int
    std: float = math.nan

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


# The upper end of Student's t central CONFIDENCE interval by degrees of freedom (the
# lower end is its negative), exactly as SciPy gives it (scipy.stats.t.interval): stored
# so that reading a study needs no SciPy. tests/search/test_light_floor.py checks each.
T_QUANTILES: dict[int, float] = {
    1: 12.706204736174694, 2: 4.302652729749462, 3: 3.1824463052837078, 4: 2.7764451051977934,
    5: 2.5705818356363146, 6: 2.4469118511449786, 7: 2.364624251592784, 8: 2.306004135204166,
    9: 2.262157162798205, 10: 2.228138851986274, 11: 2.200985160091639, 12: 2.1788128296672284,
    13: 2.1603686564627913, 14: 2.144786687917804, 15: 2.131449545559776, 16: 2.1199052992212546,
    17: 2.1098155778333156, 18: 2.1009220402410382, 19: 2.0930240544083087, 20: 2.085963447265864,
    21: 2.0796138447276795, 22: 2.0738730679040254, 23: 2.0686576104190486, 24: 2.0638985616280245,
    25: 2.0595385527532972, 26: 2.0555294386428735, 27: 2.0518305164802846, 28: 2.0484071417952454,
    29: 2.045229642132703, 30: 2.0422724563012378,
}


def t_interval(confidence: float, dof: int) -> tuple[float, float]:
    """The central ``confidence`` interval of Student's t with ``dof`` degrees of freedom:
    stored (:data:`T_QUANTILES`) where it can be, else from SciPy."""
    if confidence == CONFIDENCE and dof in T_QUANTILES:
        return -T_QUANTILES[dof], T_QUANTILES[dof]
    from scipy import stats

    low, high = stats.t.interval(confidence, dof)
    return float(low), float(high)


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Student-t interval of the mean: seeds are few, so the normal approximation is too narrow.

    Computed as ``scipy.stats.t.interval(confidence, n - 1, loc=mean, scale=sem)`` with
    SciPy's standard error ``std(ddof=1) / n**0.5``, to the last bit."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, 1)
    std = float(x.std(ddof=1))
    sem = std / x.size ** 0.5
    if sem == 0:
        return Interval(mean, mean, mean, int(x.size), std)
    low, high = t_interval(confidence, x.size - 1)
    return Interval(mean, low * sem + mean, high * sem + mean, int(x.size), std)


def confusion(true: Sequence[int], predicted: Sequence[int], classes: int
              ) -> tuple[tuple[int, ...], ...]:
    """How often each true class (rows) was predicted as each class (columns)."""
    pairs = np.asarray(true, dtype=np.int64) * classes + np.asarray(predicted, dtype=np.int64)
    counts = np.bincount(pairs, minlength=classes * classes).reshape(classes, classes)
    return tuple(tuple(int(n) for n in row) for row in counts)


def paired_t(a: Sequence[float], b: Sequence[float]) -> tuple[Interval, float, float]:
    """Mean of ``a - b`` with its t-interval, and the paired t statistic and p-value (NaN
    when fewer than 2 pairs or all differences are equal, where the test is undefined)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    t = p = math.nan
    if diff.size >= 2 and np.ptp(diff) > 0:
        from scipy import stats

        test = stats.ttest_rel(a, b)
        t, p = float(test.statistic), float(test.pvalue)
    return mean_ci(diff.tolist()), t, p


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control, any dependence).

    Written here because SciPy offers only Benjamini-Hochberg/-Yekutieli
    (``false_discovery_control``), which control the false discovery rate, not the
    family-wise error, and statsmodels is not a dependency. NaN (no test) stays NaN and
    does not count towards the family size.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = order.size
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out.tolist()


def interaction(x1: Sequence[float], x2: Sequence[float], y: Sequence[float]) -> float | None:
    """Coefficient of ``x1*x2`` in the least-squares fit ``y ~ 1 + x1 + x2 + x1*x2``;
    None when the points cannot identify it (fewer than 2 levels of either, or a design
    that is not of full rank)."""
    a, b = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    design = np.column_stack([np.ones_like(a), a, b, a * b])
    if np.linalg.matrix_rank(design) < 4:
        return None
    coef, *_ = np.linalg.lstsq(design, np.asarray(y, dtype=float), rcond=None)
    return float(coef[3])


# --------------------------------------------------------------------------- power laws


@dataclass(frozen=True)
class PowerLaw:
    """``y = a * x**(-alpha) + c``, fitted by least squares.

    ``form`` says which model: ``power_with_floor`` (a, alpha, c by nonlinear least
    squares) or ``log_log`` (a straight line in log-log, c fixed at 0, used when the floor
    cannot be identified); ``note`` says why. Standard errors come from the fit's
    covariance; ``dof`` is points minus fitted parameters.
    """

    form: str
    a: float
    a_se: float
    alpha: float
    alpha_se: float
    c: float
    c_se: float
    dof: int
    note: str

    @property
    def alpha_ci(self) -> tuple[float, float]:
        """t-interval of alpha from the fit's covariance (assumes independent points)."""
        from scipy import stats

        half = float(stats.t.ppf((1 + CONFIDENCE) / 2, self.dof)) * self.alpha_se
        return (self.alpha - half, self.alpha + half)

    @property
    def n_params(self) -> int:
        return 3 if self.form == POWER_WITH_FLOOR else 2

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(x, dtype=float) ** (-self.alpha) + self.c


def _floor_fit(x: np.ndarray, y: np.ndarray,
               require_floor: bool) -> tuple[np.ndarray, np.ndarray] | str:
    """(a, alpha, c) and their covariance, or the reason the floor is not identified;
    ``require_floor`` False skips the "c above twice its standard error" check (a bootstrap
    refits the form the point estimate used)."""
    x0 = float(np.exp(np.log(x).mean()))  # fit on x / x0 so a stays near y's scale
    u = x / x0
    c_max = float(y.min())
    c0 = c_max / 2
    slope, intercept = np.polyfit(np.log(u), np.log(np.clip(y - c0, 1e-9, None)), 1)
    guess = [float(np.exp(intercept)), float(np.clip(-slope, 0.01, 4.9)), c0]
    from scipy import optimize

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", optimize.OptimizeWarning)
            p, cov = optimize.curve_fit(lambda u, a, al, c: a * u ** (-al) + c, u, y,
                                        p0=guess, bounds=([0, 0, 0], [np.inf, 5, c_max]))
    except (RuntimeError, optimize.OptimizeWarning, ValueError) as exc:
        return f"nonlinear fit failed ({str(exc).splitlines()[0]})"
    se = np.sqrt(np.diag(cov))
    a1, alpha, c = p
    if not np.all(np.isfinite(se)):
        return "parameter covariance is not finite"
    if alpha <= 1e-6 or alpha >= 5 - 1e-6 or c >= c_max * (1 - 1e-6):
        return f"fit ran into a bound (alpha {alpha:.3g}, c {c:.3g})"
    if require_floor and c - 2 * se[2] <= 0:
        return f"floor c = {c:.3g} ± {se[2]:.2g} is not distinguishable from 0"
    # Back to x itself: a = a1 * x0**alpha, with the delta method for its covariance.
    jac = np.array([[x0 ** alpha, a1 * x0 ** alpha * math.log(x0), 0], [0, 1, 0], [0, 0, 1]])
    return np.array([a1 * x0 ** alpha, alpha, c]), jac @ cov @ jac.T


def fit_power_law(x: Sequence[float], y: Sequence[float],
                  form: str | None = None) -> PowerLaw | None:
    """Fit ``y = a * x**(-alpha) + c``; fall back to a log-log line when c is not identified.

    The floor counts as identified when there are at least ``MIN_SIZES_FOR_FLOOR`` sizes,
    the fit converges inside its bounds (alpha in (0, 5), 0 <= c < min y) and c exceeds
    twice its standard error. ``form`` forces one model (None chooses as above; a forced
    floor that does not converge gives None). None below ``MIN_SIZES_FOR_LINE`` sizes.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = (xa > 0) & (ya > 0)
    xa, ya = xa[keep], ya[keep]
    sizes = len(np.unique(xa))
    if sizes < MIN_SIZES_FOR_LINE or len(xa) < MIN_SIZES_FOR_LINE:
        return None
    floor: tuple[np.ndarray, np.ndarray] | str = f"form {LOG_LOG} requested"
    if form != LOG_LOG:
        floor = (_floor_fit(xa, ya, require_floor=form is None)
                 if sizes >= MIN_SIZES_FOR_FLOOR
                 else f"only {sizes} sizes; a floor needs {MIN_SIZES_FOR_FLOOR}")
    if not isinstance(floor, str):
        p, cov = floor
        se = np.sqrt(np.diag(cov))
        return PowerLaw(POWER_WITH_FLOOR, float(p[0]), float(se[0]), float(p[1]),
                        float(se[1]), float(p[2]), float(se[2]), len(xa) - 3,
                        "floor identified: a power law that levels off at c")
    if form == POWER_WITH_FLOOR:
        return None
    from scipy import stats

    line = stats.linregress(np.log(xa), np.log(ya))
    a = math.exp(line.intercept)
    return PowerLaw(LOG_LOG, a, a * float(line.intercept_stderr), -float(line.slope),
                    float(line.stderr), 0.0, math.nan, len(xa) - 2,
                    f"straight line in log-log (c = 0): {floor}")


@dataclass(frozen=True)
class LackOfFit:
    """Lack-of-fit F test: do group means scatter about the curve more than replicates
    scatter about their group means? A small p says the curve misses real structure."""

    f: float
    df_lack: int
    df_pure: int
    p_value: float


def lack_of_fit(predicted: Sequence[float], replicates: Sequence[Sequence[float]],
                n_params: int) -> LackOfFit | None:
    """F = (lack-of-fit SS / (groups - params)) / (pure-error SS / (points - groups)), the
    pure error coming from replicates within each group (e.g. seeds of one cell); None
    without degrees of freedom for either part or without replicate scatter."""
    groups = [np.asarray(r, dtype=float) for r in replicates]
    n_points = sum(g.size for g in groups)
    df_lack, df_pure = len(groups) - n_params, n_points - len(groups)
    pure = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    if df_lack < 1 or df_pure < 1 or pure == 0:
        return None
    lack = sum(g.size * (g.mean() - yhat) ** 2 for g, yhat in zip(groups, predicted,
                                                                   strict=True))
    f = float(lack / df_lack) / (pure / df_pure)
    from scipy import stats

    return LackOfFit(f, df_lack, df_pure, float(stats.f.sf(f, df_lack, df_pure)))


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile interval of a statistic over resamples; ``failed`` resamples gave no
    value (e.g. too few distinct sizes drawn) and are left out."""

    low: float
    high: float
    n_resamples: int
    failed: int


# More failed resamples than this share (too few distinct groups to evaluate the
# statistic) and no interval is given.
MAX_FAILED_SHARE = 0.1


def cluster_bootstrap(x: Sequence[float], replicates: Sequence[Sequence[float]],
                      statistic: Callable[[np.ndarray, np.ndarray], float | None],
                      n_resamples: int = N_RESAMPLES,
                      seed: int = BOOTSTRAP_SEED) -> BootstrapCI:
    """Two-level bootstrap: draw whole groups with replacement (group ``i`` sits at
    ``x[i]``), then replicates within each drawn group, and evaluate
    ``statistic(x, group means)``. Groups are the units the statistic generalises over,
    so the interval carries the between-group scatter that a fit to pooled points hides.
    """
    rng = np.random.default_rng(seed)
    xs = np.asarray(x, dtype=float)
    groups = [np.asarray(r, dtype=float) for r in replicates]
    k = len(groups)
    drawn = rng.integers(0, k, (n_resamples, k))
    # Every group's mean after resampling its replicates, for every (resample, slot), so a
    # group drawn twice into one resample gets two independent draws of its seeds.
    means = np.stack([g[rng.integers(0, g.size, (n_resamples, k, g.size))].mean(axis=-1)
                      for g in groups])
    resampled = np.take_along_axis(means, drawn[None], axis=0)[0]
    values = []
    for cells, ys in zip(drawn, resampled, strict=True):
        value = statistic(xs[cells], ys)
        values.append(math.nan if value is None else value)
    finite = np.asarray(values)[np.isfinite(values)]
    failed = n_resamples - finite.size
    if failed > MAX_FAILED_SHARE * n_resamples:
        # The survivors are the resamples that drew (nearly) every group: their spread is
        # mostly replicate scatter, not the between-group scatter this interval is for.
        return BootstrapCI(math.nan, math.nan, n_resamples, failed)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(finite, [tail, 100 - tail])
    return BootstrapCI(float(low), float(high), n_resamples, failed)
