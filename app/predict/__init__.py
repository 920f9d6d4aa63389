"""The Predict tab: a stored trial or an ensemble file on new data (a CSV file, images, a folder of images)."""

from app.predict.predict_tab import PredictTab

__all__ = ["PredictTab"]
