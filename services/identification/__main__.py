"""`python -m services.identification`: data comparison and monitoring (port 8002)."""

from services.identification.bootstrap import build
from services.runtime.service import serve

if __name__ == "__main__":
    serve("identification", 8002, build)
