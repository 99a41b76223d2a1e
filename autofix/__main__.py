import sys

from autofix.entry import main

sys.exit(main())
