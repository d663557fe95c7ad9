"""The built-in checks: one module per concern. This tuple is the explicit registry of built-ins."""

BUILTIN = (
    "checks.headers",
    "checks.env",
    "checks.secrets",
    "checks.idor",
    "checks.auth",
    "checks.debug",
    "checks.input",
    "checks.tls",
    "checks.dns",
    "checks.webhook",
    "checks.cors",
    "checks.ratelimit",
)
