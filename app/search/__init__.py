"""The Search tab: hyperparameter search on Optuna through the engine, drawn live."""

from app.search.search_tab import SearchTab

__all__ = ["SearchTab"]
