"""`python -m services.audit`: auditors read, verify and replay households' chains (port 8005)."""

from services.audit.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("audit", 8005, build)
