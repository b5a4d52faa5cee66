import sys

from aipipe_ops.cli import main

sys.exit(main())
