"""The built-in checks: one module per concern. This tuple is the explicit registry of built-ins."""

BUILTIN = (
    "probe.checks.headers",
    "probe.checks.env",
    "probe.checks.secrets",
    "probe.checks.idor",
    "probe.checks.auth",
    "probe.checks.sessions",
    "probe.checks.exposure",
    "probe.checks.debug",
    "probe.checks.input",
    "probe.checks.tls",
    "probe.checks.dns",
    "probe.checks.webhook",
    "probe.checks.cors",
    "probe.checks.ratelimit",
    "probe.checks.baas",
    "probe.checks.race",
    "probe.checks.load",
)
