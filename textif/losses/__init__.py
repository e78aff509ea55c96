"""Text-IF fusion losses (paper Eq. 10-14) and the task-dependent weight table."""
from textif.losses.distill import DistillLoss, distill_loss
from textif.losses.fusion import (
    ColorLoss,
    GradientLoss,
    IntensityLoss,
    LossInputError,
    SSIMLoss,
    TextIFLoss,
    color_loss,
    gradient_loss,
    intensity_loss,
    ssim_loss,
    textif_loss,
)
from textif.losses.weights import LOSS_TERMS, TASK_WEIGHTS, LossWeights, loss_weights, weights_tensor

__all__ = [
    "intensity_loss",
    "ssim_loss",
    "gradient_loss",
    "color_loss",
    "textif_loss",
    "IntensityLoss",
    "SSIMLoss",
    "GradientLoss",
    "ColorLoss",
    "TextIFLoss",
    "distill_loss",
    "DistillLoss",
    "LossInputError",
    "LossWeights",
    "LOSS_TERMS",
    "TASK_WEIGHTS",
    "loss_weights",
    "weights_tensor",
]
