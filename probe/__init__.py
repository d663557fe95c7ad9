"""probe: a black-box pre-deploy configuration and security check."""

__version__ = "0.1.0"
