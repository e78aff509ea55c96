"""Models: the Text-IF network, its presets, text encoders and checkpoint I/O."""
from textif.models.textif import MODELS, TextIF, TextIFConfig, create_model, list_models, model_config, register_model

__all__ = ["MODELS", "TextIF", "TextIFConfig", "create_model", "list_models", "model_config", "register_model"]
