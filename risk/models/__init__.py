"""The at-risk model's records: trained versions and predictions (predictions.py); alerts, feedback and
interventions (alerts.py)."""

from risk.models.alerts import Alert, Intervention, PredictionFeedback
from risk.models.predictions import ModelVersion, Prediction

__all__ = ["Alert", "Intervention", "ModelVersion", "Prediction", "PredictionFeedback"]
