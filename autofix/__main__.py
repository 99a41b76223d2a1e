import sys

from autofix.cli import main

sys.exit(main())
