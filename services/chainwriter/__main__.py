"""`python -m services.chainwriter`: sequences chains, delivers referrals (port 8007)."""

from services.chainwriter.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("chainwriter", 8007, build)
