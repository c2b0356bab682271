"""Search: dataset loading, model building and hyperparameter studies."""
