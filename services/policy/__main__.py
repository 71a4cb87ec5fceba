"""`python -m services.policy`: policy versions, their impact and approval (port 8009)."""

from services.policy.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("policy", 8009, build)
