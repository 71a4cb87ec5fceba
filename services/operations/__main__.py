"""`python -m services.operations`: the operator console (port 8008)."""

from services.operations.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("operations", 8008, build)
