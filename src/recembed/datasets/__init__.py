"""Built-in data: a seeded synthetic shop (behaviour log + item side information)."""
from .synthetic import synthetic_shop, write_synthetic_shop

__all__ = ["synthetic_shop", "write_synthetic_shop"]
