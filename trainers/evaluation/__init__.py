"""Metrics of a classifier's predictions on one split, as plain data: the confusion matrix, per-class precision,
recall and F1 with their averages, calibration, and the most confident mistakes with the input behind each.

Below the training loop (numpy, the data sources and the store only), so a run evaluates its own model as it
finishes; trainers.use evaluates stored trials and ensembles with the same functions."""
