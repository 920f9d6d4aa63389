"""EnsembleForm: the ensemble job's settings, one FieldEditor per field, validated on every edit.

The fields come from trainers.spec.ensemble_settings.setting_specs(), so the form, the CLI and the engine accept
exactly the same values. Only the fields the chosen method uses are shown; a hidden field takes its last valid
value, so it never blocks a run.
"""

from __future__ import annotations

from typing import Any, Mapping

from PySide6.QtWidgets import QComboBox, QWidget

from app.ensembles.wording import method_label
from app.forms.field_form import FieldForm, FormRules
from trainers.spec.ensemble_settings import COMBINE_METHODS, SECTION, TABLE, EnsembleSettings

# Row labels with their Alt keys. Rows shown together never share a key, and none takes a window-wide one
# (menus F R V H, tabs G L C Y E); select_by and members share B, rounds and boost_rate share A, because they are
# never shown together.
LABELS = {
    "method": "&Method",
    "top": "Top &K",
    "trials": "Trial &ids",
    "select_by": "Rank &by",
    "folds": "Fol&ds",
    "members": "Mem&bers",
    "boost_rate": "Boost r&ate",
    "vectorise": "Vec&torise",
    "pool": "&Pool",
    "rounds": "M&ax rounds",
}
SELECT_BY_LABELS = {"val_acc": "Validation accuracy (best)", "val_loss": "Validation loss (lowest)"}
# method -> the fields it uses besides the method itself
USES = {
    "greedy-selection": ("pool", "rounds", "trials", "select_by", "folds"),
    "soft-vote": ("top", "trials", "select_by"),
    "hard-vote": ("top", "trials", "select_by"),
    "weighted": ("top", "trials", "select_by", "folds"),
    "stacking": ("top", "trials", "select_by", "folds"),
    "bagging": ("members", "vectorise"),
    "adaboost": ("members", "boost_rate"),  # each member depends on the one before: never together
    "gradient-boost": ("members", "boost_rate"),
    "snapshot": ("members",),
}
METHOD = f"{SECTION}.method"


def _shown(key: str, values: Mapping[str, Any]) -> bool:
    return key == METHOD or key.rpartition(".")[2] in USES.get(values[METHOD], ())


class EnsembleForm(FieldForm[EnsembleSettings]):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(TABLE, FormRules(shown=_shown, triggers=frozenset((METHOD,)), labels=LABELS), parent)
        for name, wording in (("method", method_label), ("select_by", SELECT_BY_LABELS.get)):
            combo = self.editor(name).focus_widget()
            assert isinstance(combo, QComboBox)
            for i in range(combo.count()):  # shown in words; the value stays the engine's identifier
                combo.setItemText(i, wording(combo.itemData(i)) or combo.itemData(i))

    def method(self) -> str:
        return str(self.editor("method").raw())

    def trains(self) -> bool:
        """True while the chosen method trains new members (it needs the Training tab's config)."""
        return self.method() not in COMBINE_METHODS
