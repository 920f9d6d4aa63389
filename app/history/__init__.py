"""The History tab: every trial ranked, filtered and sorted by the store; detail, compare and actions."""

from app.history.history_tab import HistoryTab

__all__ = ["HistoryTab"]
