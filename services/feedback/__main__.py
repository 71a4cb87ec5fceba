"""`python -m services.feedback`: result feedback from the departments (port 8004)."""

from services.feedback.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("feedback", 8004, build)
