"""Quantization-aware fine-tuning and export to a full-integer int8 TFLite model."""
