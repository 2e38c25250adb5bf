"""Experiments as data: YAML configs (`config`, `typecheck`), the runner that turns one into data and a
model (`runner`), and hyperparameter search (`tuning`)."""
