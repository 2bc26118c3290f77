import sys

from ontochron.cli import main

sys.exit(main())
