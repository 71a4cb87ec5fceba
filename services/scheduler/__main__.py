"""`python -m services.scheduler`: the clock and the dates that matter (port 8010)."""

from services.runtime.service import serve
from services.scheduler.bootstrap import build

if __name__ == "__main__":
    serve("scheduler", 8010, build)
