"""Experiments as data: YAML configs (`config`, `typecheck`), the runner that turns one into data and a
model (`runner`), a run's artifacts (`artifacts`), and hyperparameter search (`tuning`)."""
