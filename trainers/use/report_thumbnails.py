"""Small inline pictures of the samples an image model got most confidently wrong, for the report: PNG as data:
URIs, so the report stays one file. The samples are read from the trial's data, split as its run split it."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from trainers.data import load_dataset
from trainers.store.records import TrialRecord
from trainers.use.report_evaluation import evaluations_in
from trainers.use.thumbnails import sample_images
from trainers.use.trial_model import split_of, trial_config

THUMB_PX = 56  # the longer side on the page


def png_data_uri(hwc: np.ndarray, size: int = THUMB_PX) -> str:
    """A uint8 (H, W, C) image as a data: URI of a PNG whose longer side is `size` (small images are enlarged
    with their pixels kept sharp)."""
    picture = Image.fromarray(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc)
    scale = size / max(picture.size)
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BILINEAR
    picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))), resample)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def mistake_thumbnails(trial: TrialRecord) -> dict[str, dict[int, str]]:
    """{split: {sample index: data URI}} for the stored evaluations of an image model; {} for tables or when no
    evaluation is stored. Raises the data's own error when the images cannot be read any more."""
    wanted: dict[str, list[int]] = {}
    for e in evaluations_in(trial.extra.get("evaluation")):
        if e.get("inputs") == "image":
            wanted[str(e.get("split"))] = [int(m["index"]) for m in e.get("mistakes") or [] if "index" in m]
    if not any(wanted.values()):
        return {}
    bundle = load_dataset(trial_config(trial).data)
    out: dict[str, dict[int, str]] = {}
    for split, indices in wanted.items():
        images = sample_images(split_of(bundle, split), indices)
        out[split] = {i: png_data_uri(img) for i, img in zip(indices, images)}
    return out


def thumbnails_or_note(trial: TrialRecord) -> tuple[dict[str, dict[int, str]], str]:
    """The thumbnails, or none and why (a moved image folder leaves the rest of the report intact)."""
    from trainers.spec.errors import TuneLabError

    try:
        return mistake_thumbnails(trial), ""
    except (TuneLabError, OSError, ValueError, KeyError, IndexError) as exc:
        return {}, f"The mistakes' images are not shown: {exc}"
