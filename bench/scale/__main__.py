"""Entry point: ``python -m bench.scale``."""

from bench.scale.harness import main

raise SystemExit(main())
