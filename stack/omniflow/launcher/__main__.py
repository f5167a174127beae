"""``python -m omniflow.launcher`` is the ``omniflow`` command."""

from omniflow.launcher.cli import main

raise SystemExit(main())
