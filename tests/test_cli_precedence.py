"""One value per field on the command line: the config source first, then the field flags in the order given,
the later winning with a note naming both; --from-trial starts from a stored trial; and the commands
`tunelab diagnose` prints work as printed."""

from __future__ import annotations

import io
import json
import shlex
import signal
from pathlib import Path
from typing import Iterator

import pytest

from trainers.cli.config_args import config_from_args
from trainers.cli.diagnose import command
from trainers.cli.ensemble import settings_from_args as ensemble_settings
from trainers.cli.main import build_parser, main
from trainers.diagnosis.diagnose import Intervention
from trainers.spec.config import RunConfig
from trainers.spec.errors import ConfigError
from trainers.store import TrialStore

ISSUE_LINE = ["--dataset", "digits", "--lr", "0.3", "--epochs", "1", "--set", "optim.lr=0.03"]
NOTE = "tunelab: note: optim.lr given twice (--lr 0.3, then --set optim.lr=0.03): using 0.03, the later one"
TINY = ["--train-fraction", "0.1", "--threads", "1", "--quiet"]


def parse(*argv: str) -> tuple[RunConfig, str]:
    """The config `tunelab train ARGV` would run, and what it wrote to stderr."""
    notes = io.StringIO()
    cfg = config_from_args(build_parser().parse_args(["train", *argv]), notes)
    return cfg, notes.getvalue()


@pytest.fixture
def own_signals() -> Iterator[None]:
    """main() installs Ctrl+C handlers for its run; put pytest's back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def stored(db: str, trial_id: int) -> dict:
    with TrialStore(db, read_only=True) as store:
        return store.get_trial(trial_id).config


def test_the_issue_line_uses_the_later_value_and_names_both() -> None:
    cfg, err = parse(*ISSUE_LINE)
    assert cfg.optim.lr == 0.03 and cfg.train.epochs == 1 and cfg.data.source == "digits"
    assert err.splitlines() == [NOTE]


def test_reversed_order_uses_the_flag() -> None:
    cfg, err = parse("--set", "optim.lr=0.03", "--lr", "0.3")
    assert cfg.optim.lr == 0.3
    assert err.splitlines() == [
        "tunelab: note: optim.lr given twice (--set optim.lr=0.03, then --lr 0.3): using 0.3, the later one"
    ]


def test_every_spelling_of_a_field_counts_as_that_field() -> None:
    cfg, err = parse("--optim.lr", "0.2", "--lr", "0.1", "--set", "optim.lr=0.05")
    assert cfg.optim.lr == 0.05
    assert err.splitlines() == [
        "tunelab: note: optim.lr given 3 times (--optim.lr 0.2, then --lr 0.1, then --set optim.lr=0.05): "
        "using 0.05, the last one"
    ]


def test_the_same_value_twice_is_silent() -> None:
    cfg, err = parse("--lr", "0.3", "--set", "optim.lr=0.30", "--epochs", "2", "--train.epochs", "2")
    assert (cfg.optim.lr, cfg.train.epochs, err) == (0.3, 2, "")


def test_config_file_then_flag_the_flag_wins_silently(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[optim]\nname = "sgd"\nlr = 0.05\n[train]\nepochs = 3\n')
    cfg, err = parse("--config", str(path), "--lr", "0.2")
    assert (cfg.optim.name, cfg.optim.lr, cfg.train.epochs, err) == ("sgd", 0.2, 3, "")


def test_a_bad_later_value_is_the_one_error_with_no_note() -> None:
    with pytest.raises(ConfigError, match="optim.lr = 'abc' is invalid"):
        parse("--lr", "0.3", "--set", "optim.lr=abc")
    with pytest.raises(ConfigError, match="--set = 'lr' is invalid: KEY=VALUE"):
        parse("--set", "lr")


def test_a_patience_still_turns_early_stopping_on_unless_told_otherwise() -> None:
    assert parse("--early-stopping-patience", "3")[0].early_stop.enabled
    cfg, _ = parse("--early-stopping-patience", "3", "--set", "early_stop.enabled=false")
    assert not cfg.early_stop.enabled and cfg.early_stop.patience == 3


def test_from_trial_starts_from_the_stored_config_and_flags_override_it(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    original = RunConfig().replace(**{"optim.name": "sgd", "optim.lr": 0.07, "model.dropout": 0.25})
    with TrialStore(db) as store:
        trial_id = store.create_trial("train", original.to_dict())
    same, err = parse("--from-trial", str(trial_id), "--store", db)
    assert same == original and err == ""
    changed, err = parse("--from-trial", str(trial_id), "--lr", "0.01", "--store", db)
    assert changed == original.replace(**{"optim.lr": 0.01}) and err == ""


def test_from_trial_refusals_are_one_line_naming_the_trial(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = str(tmp_path / "t.db")
    with TrialStore(db) as store:
        moved = store.create_trial("train", {"data": {"source": "csv", "path": str(tmp_path / "gone.csv")}})
        ensemble = store.create_trial("ensemble", RunConfig().to_dict())
    cases = {
        "42": "there is no trial 42 in the store",
        str(moved): f"(in the config of trial {moved})",
        str(ensemble): f"trial {ensemble} is of kind ensemble",
    }
    for trial_id, fragment in cases.items():
        assert main(["train", "--from-trial", trial_id, "--store", db]) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.splitlines()) == 1 and fragment in err, err
    with pytest.raises(SystemExit) as exc:
        main(["lr-find", "--config", "run.toml", "--from-trial", "1", "--store", db])
    assert exc.value.code == 2
    assert "argument --from-trial: not allowed with argument --config" in capsys.readouterr().err


def test_diagnose_commands_are_whole_and_quoted() -> None:
    lower = Intervention("lower_lr", "Lower the learning rate", "", {"optim.lr": 1e-05, "schedule.warmup_epochs": 2.0})
    assert command(7, lower) == "tunelab train --from-trial 7 --set optim.lr=1e-05 --set schedule.warmup_epochs=2"
    finder = Intervention("lr_finder", "Run the LR finder", "")
    assert command(7, finder, "/tmp/my trials.db") == "tunelab lr-find --from-trial 7 --store '/tmp/my trials.db'"
    assert command(7, Intervention("something_new", "", "")) is None
    words = shlex.split(command(7, Intervention("ensemble", "Build an ensemble", "")) or "")
    assert words[:2] == ["tunelab", "ensemble"] and words[-2:] == ["--from-trial", "7"]
    assert ensemble_settings(build_parser().parse_args(words[1:])).trains  # accepted with a config source


REVERSED = ["--set", "optim.lr=0.03", "--dataset", "digits", "--lr", "0.3", "--epochs", "1"]
REVERSED_NOTE = "tunelab: note: optim.lr given twice (--set optim.lr=0.03, then --lr 0.3): using 0.3, the later one"


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, lr, note", [(ISSUE_LINE, 0.03, NOTE), (REVERSED, 0.3, REVERSED_NOTE)], ids=["issue", "reversed"]
)
def test_the_issue_line_trains_at_the_later_value(
    tmp_path: Path, capsys: pytest.CaptureFixture, own_signals: None, argv: list[str], lr: float, note: str
) -> None:
    db = str(tmp_path / "t.db")
    code = main(["train", *argv, *TINY, "--store", db])
    out, err = capsys.readouterr()
    result = json.loads(out.splitlines()[-1])
    # Adam at 0.3 blows up on digits (why the issue's user meant 0.03): diverged, exit 3, still stored
    assert (code, result["status"]) in ((0, "completed"), (3, "diverged"))
    assert stored(db, result["trial_id"])["optim"]["lr"] == lr
    assert note in err.splitlines()


@pytest.mark.slow
def test_a_diagnosis_command_run_as_printed_trains_the_intervention(
    tmp_path: Path, capsys: pytest.CaptureFixture, own_signals: None
) -> None:
    db = str(tmp_path / "t.db")
    assert main(["train", "--dataset", "digits", "--lr", "1e-6", "--epochs", "4", *TINY, "--store", db]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[-1])["trial_id"]
    base = RunConfig.from_dict(stored(db, first))

    assert main(["diagnose", str(first), "--json", "--store", db]) == 0
    items = json.loads(capsys.readouterr().out)["interventions"]
    assert main(["diagnose", str(first), "--store", db]) == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert items and all(item["command"] in lines for item in items)  # the text shows the JSON's commands
    for item in items:  # every printed command parses and starts from the diagnosed trial's config
        words = shlex.split(item["command"])
        assert words[0] == "tunelab" and words[-2:] == ["--store", db]
        assert words[words.index("--from-trial") + 1] == str(first)
        cfg = config_from_args(build_parser().parse_args(words[1:]), io.StringIO())
        assert cfg == base.replace(**item["changes"])

    change = next(item for item in items if item["changes"])
    assert shlex.split(change["command"])[1] == "train"
    assert main(shlex.split(change["command"])[1:]) == 0
    second = json.loads(capsys.readouterr().out.splitlines()[-1])["trial_id"]
    assert RunConfig.from_dict(stored(db, second)) == base.replace(**change["changes"])
