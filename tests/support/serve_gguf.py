"""llama.cpp's server (OpenAI and Anthropic Messages API) from the xllamacpp wheel, on 127.0.0.1, until terminated.

Usage: python tests/support/serve_gguf.py MODEL.gguf --port 8080 --api-key KEY [--threads 2] [--chat-template-file F]
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--chat-template-file", type=Path, default=None)
    args = parser.parse_args()

    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = str(args.model)
    params.n_ctx = args.n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.api_keys = [args.api_key]
    params.ui = False
    params.use_jinja = True
    if args.chat_template_file is not None:
        params.chat_template = args.chat_template_file.read_text()
    server = xlc.Server(params)
    print(f"serving {args.model.name} at {server.listening_address}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
