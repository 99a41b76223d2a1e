"""autofix: find and fix PyTorch code that silently breaks gradient flow."""

__version__ = "0.1.0"
