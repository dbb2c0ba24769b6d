import sys

from babelcast.gateway.cli import main

sys.exit(main())
