import sys

from alerts.service import main

sys.exit(main())
