"""``python -m toolkit``: the same command line as ``toolkit``."""

from toolkit.cli import main

raise SystemExit(main())
