"""The one wall for private APIs: every private access to a library lives here.

One module per library (``compat.optuna``, ``compat.tensorflow``, ``compat.keras_tuner``),
each access a function whose docstring names the version it was checked against and why
no public API serves; ``tests/compat`` fails loudly when an installed version changes one.
This package sits below everything (``search``, ``spaces``, ``storage``, ``benchmarks``
may import it) and imports only the libraries; importing ``compat`` itself imports none.
"""
