"""hashcart: social replies become shopping carts."""

__version__ = "0.1.0"
