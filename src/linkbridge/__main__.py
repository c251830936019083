"""`python -m linkbridge` runs the command line."""

from linkbridge.cli import main

raise SystemExit(main())
