"""`python -m services.referral`: push according to needs (port 8006)."""

from services.referral.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("referral", 8006, build)
