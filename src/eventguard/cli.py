"""The ``eventguard`` command: every Django management command, plus demo and serve."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventguard.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["eventguard", *args])


if __name__ == "__main__":
    main()
