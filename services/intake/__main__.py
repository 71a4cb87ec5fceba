"""`python -m services.intake`: one-stop intake: applications, visits, records, signals (8001)."""

from services.intake.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("intake", 8001, build)
