"""The `probe` command (also `python -m probe`). `probe --version` answers before the CLI framework loads:
scripts and CI steps call it to check the install, and typer alone takes longer to import than the
whole answer should."""

from __future__ import annotations

import sys

from probe import __version__


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"probe {__version__}")
        return
    try:
        from probe.cli import main as run_cli
    except KeyboardInterrupt:
        # Ctrl-C while the command is still loading: nothing has been sent or gathered yet.
        print("probe: interrupted", file=sys.stderr)
        sys.exit(130)
    run_cli()


if __name__ == "__main__":
    main()
