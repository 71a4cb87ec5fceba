"""`python -m services.classification`: tiers and tags under the policy in force (port 8003)."""

from services.classification.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("classification", 8003, build)
