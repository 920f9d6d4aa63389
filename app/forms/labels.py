"""Human wording for the config fields: group titles, row labels and the names shown in drop-downs.

Kept apart from the widgets so the wording can change (or be translated) without touching layout code.
Anything missing here falls back to a label derived from the field's name.
"""

from __future__ import annotations

from trainers.spec.config import FieldSpec

# Sections in the order the form shows them, with their group-box titles.
GROUP_TITLES: dict[str, str] = {
    "data": "Dataset",
    "model": "Architecture",
    "optim": "Optimizer",
    "schedule": "Learning rate && schedule",  # "&&": a lone & would mark a shortcut
    "train": "Training",
    "early_stop": "Early stopping",
}

FIELD_LABELS: dict[str, str] = {
    # data
    "data.source": "Source",
    "data.path": "Location",
    "data.download": "Allow download",
    "data.target_column": "Target column",
    "data.image_size": "Image size (px)",
    "data.train_fraction": "Training fraction",
    "data.val_split": "Validation split",
    "data.test_split": "Test split",
    "data.split_seed": "Split seed",
    "data.augment_flip": "Random flips",
    "data.augment_crop_padding": "Crop padding (px)",
    "data.normalize": "Normalize inputs",
    "data.in_memory_limit_mb": "In-memory limit (MB)",
    "data.num_workers": "Loader workers",
    # model
    "model.family": "Family",
    "model.hidden_layers": "Hidden layers",
    "model.hidden_units": "Units per layer",
    "model.activation": "Activation",
    "model.batch_norm": "Batch norm",
    "model.dropout": "Dropout",
    "model.cnn_blocks": "Conv blocks",
    "model.cnn_channels": "First-block channels",
    "model.kernel_size": "Kernel size",
    "model.pooling": "Pooling",
    "model.pretrained": "Pretrained weights",
    "model.weights_path": "Weights file",
    "model.freeze_backbone": "Freeze backbone",
    # optim
    "optim.name": "Optimizer",
    "optim.lr": "Learning rate",
    "optim.weight_decay": "Weight decay",
    "optim.momentum": "Momentum",
    "optim.nesterov": "Nesterov",
    "optim.beta1": "Beta 1",
    "optim.beta2": "Beta 2",
    "optim.eps": "Epsilon",
    "optim.amsgrad": "AMSGrad",
    "optim.alpha": "Smoothing (alpha)",
    "optim.centered": "Centered",
    "optim.lr_decay": "LR decay",
    # schedule
    "schedule.name": "Schedule",
    "schedule.warmup_epochs": "Warmup epochs",
    "schedule.step_size": "Decay every (epochs)",
    "schedule.step_gamma": "Decay factor",
    "schedule.exp_gamma": "Decay per epoch",
    "schedule.min_lr": "Minimum LR",
    "schedule.max_lr": "Peak LR",
    "schedule.pct_start": "Rising fraction",
    "schedule.div_factor": "Start divisor",
    "schedule.final_div_factor": "Final divisor",
    "schedule.plateau_factor": "Decay factor",
    "schedule.plateau_patience": "Patience (epochs)",
    # train
    "train.batch_size": "Batch size",
    "train.epochs": "Epochs",
    "train.l1": "L1 penalty",
    "train.label_smoothing": "Label smoothing",
    "train.grad_clip": "Gradient clipping",
    "train.device": "Device",
    "train.amp": "Mixed precision",
    "train.seed": "Seed",
    "train.threads": "CPU threads",
    "train.checkpoints": "Save checkpoints",
    # early stop
    "early_stop.enabled": "Stop early",
    "early_stop.monitor": "Monitor",
    "early_stop.mode": "Mode",
    "early_stop.patience": "Patience (epochs)",
    "early_stop.min_delta": "Min improvement",
    "early_stop.restore_best": "Restore best weights",
    # the learning-rate range test's own settings
    "range_test.start_lr": "Start LR",
    "range_test.end_lr": "End LR",
    "range_test.iterations": "Iterations",
    "range_test.mode": "Rate rises",
    "range_test.smoothing": "Smoothing (beta)",
    "range_test.diverge_factor": "Stop at loss ×",
    "range_test.repeats": "Repeats (seeds)",
    "range_test.val_loss": "Validation loss",
    "range_test.val_samples": "Validation samples",
}

# Display names of choices; the stored value stays the config's identifier.
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "data.source": {
        "digits": "Digits (bundled, 8×8)",
        "mnist": "MNIST",
        "fashion_mnist": "Fashion-MNIST",
        "kmnist": "KMNIST",
        "cifar10": "CIFAR-10",
        "cifar100": "CIFAR-100",
        "svhn": "SVHN",
        "image_folder": "Image folder",
        "csv": "CSV table",
    },
    "model.family": {
        "mlp": "MLP",
        "cnn": "CNN",
        "resnet18": "ResNet-18",
        "mobilenet_v3_small": "MobileNet V3 small",
        "efficientnet_b0": "EfficientNet-B0",
    },
    "optim.name": {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"},
    "schedule.name": {
        "constant": "Constant",
        "step": "Step",
        "exponential": "Exponential",
        "cosine": "Cosine",
        "one_cycle": "One-cycle",
        "plateau": "Reduce on plateau",
    },
    "model.activation": {
        "relu": "ReLU",
        "gelu": "GELU",
        "silu": "SiLU",
        "tanh": "Tanh",
        "leaky_relu": "Leaky ReLU",
        "elu": "ELU",
    },
    "train.device": {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA", "mps": "MPS (Apple)"},
    "range_test.mode": {"exp": "Exponentially", "linear": "Linearly"},
}


def field_label(spec: FieldSpec) -> str:
    """The row label: from the table, else the field's name made readable ("split_seed" → "Split seed")."""
    return FIELD_LABELS.get(spec.key) or spec.name.replace("_", " ").capitalize()


def choice_label(key: str, choice: str) -> str:
    return CHOICE_LABELS.get(key, {}).get(choice, choice)
