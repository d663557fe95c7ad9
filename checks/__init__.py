"""The built-in checks: one module per concern. This tuple is the explicit registry of built-ins."""

BUILTIN = (
    "checks.headers",
)
