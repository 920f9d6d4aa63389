"""Run-config forms: typing changes the config, bad values are marked with the reason, hidden fields never
block training, set_config round-trips, Tab reaches every input, the previews follow the fields."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QFileDialog, QLabel, QLineEdit, QWidget

from app.forms import ConfigForm, FieldEditor, format_value
from trainers.spec.config import (
    DATA_PARAMS,
    MODEL_PARAMS,
    OPTIMIZER_PARAMS,
    SCHEDULE_PARAMS,
    DataConfig,
    RunConfig,
    field_specs,
    spec,
)
from trainers.spec.shapes import planned_steps_per_epoch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def form(qtbot) -> ConfigForm:
    f = ConfigForm()
    qtbot.addWidget(f)
    return f


def type_into(qtbot, form: ConfigForm, key: str, text: str) -> None:
    """Replace a line edit's text by typing, as a user would."""
    line = form.editor(key).focus_widget()
    assert isinstance(line, QLineEdit)
    line.selectAll()
    if text:
        qtbot.keyClicks(line, text)
    else:
        qtbot.keyClick(line, Qt.Key.Key_Backspace)


def choose(form: ConfigForm, key: str, choice: str) -> None:
    combo = form.editor(key).focus_widget()
    assert isinstance(combo, QComboBox)
    combo.setCurrentIndex(combo.findData(choice))


def toggle(qtbot, form: ConfigForm, key: str) -> None:
    check = form.editor(key).focus_widget()
    assert isinstance(check, QCheckBox)
    qtbot.keyClick(check, Qt.Key.Key_Space)


def shown(form: ConfigForm, key: str) -> bool:
    editor = form.editor(key)
    assert editor.isVisibleTo(form) != editor.isHidden()
    return editor.isVisibleTo(form)


# ---- values ------------------------------------------------------------------------------
def test_defaults_are_a_valid_run_config(form: ConfigForm) -> None:
    cfg = form.config()
    assert cfg is not None and cfg.to_dict() == RunConfig().to_dict()
    assert form.first_error() == "" and form.errors() == {}
    assert form.editor("data.source").value() == "digits" and form.editor("model.family").value() == "mlp"


@pytest.mark.parametrize(
    "value, text",
    [
        (1e-3, "0.001"),
        (3e-4, "0.0003"),
        (1e-8, "1e-08"),
        (25.0, "25"),
        (1e4, "10000"),
        (0.0012345678, "0.0012345678"),
        (7, "7"),
    ],
)
def test_numbers_are_compact_and_round_trip(value: float, text: str) -> None:
    assert format_value(value) == text
    assert type(value)(text) == value


def test_typing_and_picking_change_the_config(qtbot, form: ConfigForm) -> None:
    type_into(qtbot, form, "optim.lr", "0.02")
    type_into(qtbot, form, "train.batch_size", "128")
    choose(form, "optim.name", "sgd")
    qtbot.keyClick(form.editor("optim.nesterov").focus_widget(), Qt.Key.Key_Space)
    cfg = form.config()
    assert cfg is not None
    assert (cfg.optim.lr, cfg.train.batch_size, cfg.optim.name, cfg.optim.nesterov) == (0.02, 128, "sgd", True)


def test_every_edit_emits_changed(qtbot, form: ConfigForm) -> None:
    with qtbot.waitSignals([form.changed] * 2, timeout=1000):
        qtbot.keyClicks(form.editor("train.epochs").focus_widget(), "55")


@pytest.mark.parametrize("bad", ["-1", "abc", "", "0"])
def test_invalid_lr_is_marked_and_fixing_it_reenables(qtbot, form: ConfigForm, bad: str) -> None:
    editor = form.editor("optim.lr")
    with qtbot.waitSignal(form.validity_changed, timeout=1000) as signal:
        type_into(qtbot, form, "optim.lr", bad)
    assert signal.args == [False]
    assert form.config() is None
    assert "(0, 100]" in (editor.error() or "")
    assert editor.focus_widget().property("invalid") is True
    assert "(0, 100]" in editor.focus_widget().toolTip()
    assert form.errors()["optim.lr"].startswith("optim.lr = ") and form.first_error() == form.errors()["optim.lr"]
    error_line = editor.findChild(QLabel, "error")
    assert error_line.isVisibleTo(form) and "(0, 100]" in error_line.text()

    with qtbot.waitSignal(form.validity_changed, timeout=1000) as signal:
        type_into(qtbot, form, "optim.lr", "0.1")
    assert signal.args == [True]
    assert editor.error() is None and not editor.focus_widget().property("invalid")
    assert not error_line.isVisibleTo(form)
    assert form.config() is not None and form.config().optim.lr == 0.1


def test_validity_changed_only_on_flips(qtbot, form: ConfigForm) -> None:
    seen: list[bool] = []
    form.validity_changed.connect(seen.append)
    type_into(qtbot, form, "optim.lr", "-1")
    type_into(qtbot, form, "train.epochs", "x")
    type_into(qtbot, form, "optim.lr", "0.1")
    type_into(qtbot, form, "train.epochs", "3")
    assert seen == [False, True]


def test_cross_field_rule_marks_the_field_it_names(qtbot, form: ConfigForm) -> None:
    type_into(qtbot, form, "train.epochs", "5")
    type_into(qtbot, form, "schedule.warmup_epochs", "5")
    assert form.config() is None
    assert set(form.errors()) == {"schedule.warmup_epochs"}
    assert "fewer than train.epochs (5)" in (form.editor("schedule.warmup_epochs").error() or "")
    assert form.editor("train.epochs").error() is None
    type_into(qtbot, form, "train.epochs", "6")  # fixing the other field clears it too
    assert form.config() is not None and form.editor("schedule.warmup_epochs").error() is None


def test_rules_of_different_sections_are_marked_together(qtbot, form: ConfigForm) -> None:
    choose(form, "model.family", "cnn")
    type_into(qtbot, form, "model.kernel_size", "4")
    choose(form, "data.source", "csv")  # needs a file
    assert set(form.errors()) == {"model.kernel_size", "data.path"}
    assert form.first_error() == form.errors()["data.path"]  # topmost first
    assert "odd" in (form.editor("model.kernel_size").error() or "")


# ---- which fields show --------------------------------------------------------------------
@pytest.mark.parametrize("family", list(MODEL_PARAMS))
def test_model_family_shows_only_its_fields(form: ConfigForm, family: str) -> None:
    choose(form, "model.family", family)
    for s in (s for s in field_specs() if s.section == "model"):
        expected = s.name in MODEL_PARAMS[family] or s.name in ("family", "dropout")
        assert shown(form, s.key) == expected, s.key


@pytest.mark.parametrize("name", list(OPTIMIZER_PARAMS))
def test_optimizer_shows_only_its_fields(form: ConfigForm, name: str) -> None:
    choose(form, "optim.name", name)
    for s in (s for s in field_specs() if s.section == "optim"):
        expected = s.name in OPTIMIZER_PARAMS[name] or s.name in ("name", "lr", "weight_decay")
        assert shown(form, s.key) == expected, s.key


@pytest.mark.parametrize("name", list(SCHEDULE_PARAMS))
def test_schedule_shows_only_its_fields(form: ConfigForm, name: str) -> None:
    choose(form, "schedule.name", name)
    for s in (s for s in field_specs() if s.section == "schedule"):
        assert shown(form, s.key) == (s.name in SCHEDULE_PARAMS[name] or s.name in ("name", "warmup_epochs"))


@pytest.mark.slow
@pytest.mark.parametrize("source", list(DATA_PARAMS))
def test_data_source_shows_only_its_fields(form: ConfigForm, source: str) -> None:
    choose(form, "data.source", source)
    always = (
        "source",
        "train_fraction",
        "val_split",
        "test_split",
        "split_seed",
        "normalize",
    )
    for s in (s for s in field_specs() if s.section == "data"):
        assert shown(form, s.key) == (s.name in DATA_PARAMS[source] or s.name in always), s.key
    # image augmentation is offered for image sources only
    assert shown(form, "data.augment_flip") == (source != "csv")
    mode = form.editor("data.path").browse_mode()
    assert mode[0] == ("file" if source == "csv" else "dir")
    assert source != "csv" or "*.csv" in mode[1]


def test_early_stopping_fields_follow_the_switch(qtbot, form: ConfigForm) -> None:
    others = [s.key for s in field_specs() if s.section == "early_stop" and s.name != "enabled"]
    assert all(not form.editor(k).isEnabled() and shown(form, k) for k in others)
    toggle(qtbot, form, "early_stop.enabled")
    assert all(form.editor(k).isEnabled() for k in others)
    type_into(qtbot, form, "early_stop.patience", "-2")
    assert form.config() is None
    toggle(qtbot, form, "early_stop.enabled")
    cfg = form.config()  # the greyed-out field went back to its last valid value
    assert cfg is not None and cfg.early_stop.patience == 5 and not cfg.early_stop.enabled


def test_hidden_invalid_field_goes_back_to_its_last_valid_value(qtbot, form: ConfigForm) -> None:
    choose(form, "model.family", "cnn")
    type_into(qtbot, form, "model.kernel_size", "5")
    type_into(qtbot, form, "model.kernel_size", "abc")
    assert form.config() is None
    choose(form, "model.family", "mlp")
    cfg = form.config()
    assert cfg is not None and cfg.model.kernel_size == 5 and form.errors() == {}
    choose(form, "model.family", "cnn")
    assert form.editor("model.kernel_size").focus_widget().text() == "5"


def test_hidden_field_breaking_a_cross_field_rule_is_reset(qtbot, form: ConfigForm) -> None:
    choose(form, "model.family", "cnn")
    type_into(qtbot, form, "model.kernel_size", "4")  # in range, but must be odd
    assert set(form.errors()) == {"model.kernel_size"}
    choose(form, "model.family", "mlp")
    cfg = form.config()
    assert cfg is not None and cfg.model.kernel_size == 3

    choose(form, "optim.name", "sgd")
    type_into(qtbot, form, "optim.momentum", "1.5")
    choose(form, "optim.name", "adam")
    cfg = form.config()
    assert cfg is not None and cfg.optim.momentum == 0.9


# ---- set_config ---------------------------------------------------------------------------
def test_set_config_round_trips_exactly(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    cfg = RunConfig().replace(
        **{
            "data.source": "image_folder",
            "data.path": str(tmp_path),
            "data.image_size": 48,
            "data.val_split": 0.2,
            "data.augment_flip": True,
            "model.family": "cnn",
            "model.cnn_channels": 24,
            "model.kernel_size": 5,
            "model.pooling": "avg",
            "model.dropout": 0.125,
            "model.hidden_units": 100,
            "optim.name": "sgd",
            "optim.lr": 0.0012345678,
            "optim.momentum": 0.95,
            "optim.nesterov": True,
            "optim.beta2": 0.98,
            "optim.eps": 3e-9,
            "schedule.name": "cosine",
            "schedule.min_lr": 1e-6,
            "schedule.warmup_epochs": 1.5,
            "train.batch_size": 32,
            "train.epochs": 7,
            "train.device": "cpu",
            "train.seed": 2**32 - 1,
            "train.checkpoints": False,
            "early_stop.enabled": True,
            "early_stop.monitor": "val_acc",
            "early_stop.patience": 2,
            "early_stop.min_delta": 0.001,
        }
    )
    type_into(qtbot, form, "optim.lr", "bad")  # old errors are cleared
    with qtbot.waitSignal(form.validity_changed, timeout=1000) as signal:
        form.set_config(cfg)
    assert signal.args == [True]
    assert form.errors() == {}
    assert form.config().to_dict() == cfg.to_dict()
    assert shown(form, "model.kernel_size") and not shown(form, "model.hidden_units")
    assert shown(form, "data.image_size") and form.editor("early_stop.patience").isEnabled()


# ---- keyboard -----------------------------------------------------------------------------
@pytest.mark.slow
def test_tab_visits_every_visible_input_in_order(qtbot, form: ConfigForm) -> None:
    choose(form, "model.family", "resnet18")  # shows a Browse… button
    choose(form, "data.source", "csv")
    toggle(qtbot, form, "early_stop.enabled")
    form.show()
    qtbot.waitExposed(form)
    expected: list[QWidget] = []
    for editor in form.editors().values():
        if editor.isVisibleTo(form) and editor.isEnabled():
            expected.append(editor.focus_widget())
            if editor.browse_button() is not None:
                expected.append(editor.browse_button())
    assert all(w.focusPolicy() & Qt.FocusPolicy.TabFocus for w in expected)

    # The focus chain, as Tab walks it: only widgets that can take focus right now.
    chain: list[QWidget] = []
    w = expected[0]
    for _ in range(1000):
        if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus and w not in chain:
            chain.append(w)
        w = w.nextInFocusChain()
        if w is expected[0]:
            break
    assert [w for w in chain if w in expected] == expected
    assert all(w in expected for w in chain if form.isAncestorOf(w)), "a stray Tab stop inside the form"

    # And real Tab presses move through them in that order.
    form.activateWindow()
    expected[0].setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is expected[0], timeout=2000)
    visited = [expected[0]]
    for _ in expected[1:]:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
    assert visited == expected


def test_locking_disables_every_input(qtbot, form: ConfigForm) -> None:
    form.set_locked(True)
    assert not any(e.isEnabled() for e in form.editors().values())
    form.set_locked(False)
    for key, editor in form.editors().items():
        assert editor.isEnabled() == (not key.startswith("early_stop.") or key == "early_stop.enabled")


def test_browse_fills_the_path(qtbot, form: ConfigForm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    choose(form, "data.source", "image_folder")
    assert form.config() is None  # an image folder needs a path
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path)))
    with qtbot.waitSignal(form.changed, timeout=1000):
        qtbot.mouseClick(form.editor("data.path").browse_button(), Qt.MouseButton.LeftButton)
    cfg = form.config()
    assert cfg is not None and cfg.data.path == str(tmp_path)
    assert form.editor("model.weights_path").browse_mode() == ("file", "PyTorch weights (*.pt *.pth);;All files (*)")


def test_wheel_over_an_unfocused_choice_does_not_change_it(qtbot, form: ConfigForm) -> None:
    combo = form.editor("optim.name").focus_widget()
    pos = QPointF(combo.rect().center())
    wheel = QWheelEvent(
        pos,
        combo.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(combo, wheel)
    assert combo.currentData() == "adam" and not wheel.isAccepted()


def test_field_editor_widgets_and_tooltips(qtbot) -> None:
    kinds = {"optim.name": QComboBox, "optim.amsgrad": QCheckBox, "optim.lr": QLineEdit, "data.path": QLineEdit}
    for key, kind in kinds.items():
        editor = FieldEditor(spec(key))
        qtbot.addWidget(editor)
        assert isinstance(editor.focus_widget(), kind)
        assert spec(key).allowed() in editor.focus_widget().toolTip()
        assert (editor.browse_button() is not None) == (key == "data.path")
    editor = FieldEditor(spec("optim.lr"))
    qtbot.addWidget(editor)
    editor.set_value(3e-4)
    assert editor.focus_widget().text() == "0.0003" and editor.value() == 3e-4
    editor.set_error("Must be positive")
    assert editor.error() == "Must be positive" and "Must be positive" in editor.focus_widget().toolTip()
    editor.set_error(None)
    assert editor.error() is None and "Must be" not in editor.focus_widget().toolTip()


# ---- previews -----------------------------------------------------------------------------
def test_schedule_preview_follows_the_schedule(qtbot, form: ConfigForm) -> None:
    curve = form.schedule_plot.curve
    qtbot.waitUntil(lambda: len(curve.getData()[0] if curve.getData()[0] is not None else []) > 0, timeout=2000)
    x, y = curve.getData()
    assert x[-1] <= 20 and y.min() == y.max() == pytest.approx(1e-3)
    assert "20 epochs × 20 steps" in form.schedule_plot.caption.text()  # 1257 training samples / 64
    choose(form, "schedule.name", "cosine")
    qtbot.waitUntil(lambda: curve.getData()[1][-1] < curve.getData()[1][0] / 10, timeout=2000)


def test_steps_per_epoch_without_a_known_shape_is_approximate(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,label\n1,0\n")
    assert planned_steps_per_epoch(RunConfig(data=DataConfig(source="csv", path=str(table)))) == (100, False)
    choose(form, "data.source", "image_folder")
    type_into(qtbot, form, "data.path", str(tmp_path))
    qtbot.waitUntil(lambda: "approximate" in form.schedule_plot.caption.text(), timeout=2000)


@pytest.mark.slow
def test_parameter_count_once_the_engine_is_ready(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    assert form.param_label.text() == "Parameters: —"
    from trainers.models import describe_model
    from trainers.spec.config import ModelConfig

    info = describe_model(ModelConfig(), (1, 8, 8), 10)
    form.set_engine_ready()
    expected = f"Parameters: {info.param_count:,} (trainable {info.trainable_count:,})"
    qtbot.waitUntil(lambda: form.param_label.text() == expected, timeout=3000)

    choose(form, "model.family", "resnet18")
    toggle(qtbot, form, "model.freeze_backbone")
    qtbot.waitUntil(lambda: "model.pretrained" in form.param_label.text(), timeout=3000)  # describe_model's error

    choose(form, "data.source", "image_folder")
    qtbot.waitUntil(lambda: form.param_label.text() == "Parameters: counted when the data is read", timeout=3000)
    form.show_param_count(1234567)
    assert form.param_label.text() == "Parameters: 1,234,567"


@pytest.mark.slow
def test_importing_the_forms_does_not_load_torch() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import app.forms, sys; print('torch' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "False"


# ---- validated once -----------------------------------------------------------------------
def test_one_edit_checks_that_value_once_and_the_whole_config_once(
    qtbot, form: ConfigForm, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trainers.spec.config as config

    values: list[str] = []
    wholes: list[RunConfig] = []
    check_value, check_config = config.check_value, config.check_config
    monkeypatch.setattr(config, "check_value", lambda key, raw: (values.append(key), check_value(key, raw))[1])
    monkeypatch.setattr(config, "check_config", lambda cfg: (wholes.append(cfg), check_config(cfg))[1])
    line = form.editor("optim.lr").focus_widget()
    line.setText("0.02")
    line.textEdited.emit("0.02")  # one edit, as one keystroke makes it
    assert values == ["optim.lr"] and len(wholes) == 1
    assert form.config() is not None and form.config().optim.lr == 0.02

    values.clear()
    wholes.clear()
    line.setText("-1")
    line.textEdited.emit("-1")  # invalid on its own: the whole config is not built
    assert values == ["optim.lr"] and wholes == [] and form.config() is None


def test_settings_forms_use_the_same_form_class(qtbot) -> None:
    from app.ensembles.settings_form import EnsembleForm
    from app.forms import FieldForm
    from app.lr_finder.settings_form import LrFinderSettingsForm

    assert issubclass(LrFinderSettingsForm, FieldForm) and issubclass(EnsembleForm, FieldForm)
    assert issubclass(ConfigForm, FieldForm)


def test_switching_back_to_digits_saves_no_csv_fields(qtbot, form: ConfigForm, tmp_path: Path) -> None:
    """The fields a form hides are the fields a saved config holds at their defaults: one rule, the engine's."""
    csv = tmp_path / "iris.csv"
    csv.write_text("a,species\n1,x\n2,y\n")
    choose(form, "data.source", "csv")
    form.set_values({"data.path": str(csv), "data.target_column": "species"})
    assert form.config().to_dict()["data"]["path"] == str(csv)
    choose(form, "data.source", "digits")
    assert form.config().to_dict() == RunConfig().to_dict()
    choose(form, "data.source", "csv")  # the form still holds what was typed
    assert form.config().to_dict()["data"]["target_column"] == "species"
