"""One P2P VPS server per stack: `pulumi up -s <stack>`."""

import gc

from components.evaluation import GC_THRESHOLDS

gc.set_threshold(*GC_THRESHOLDS)

import pulumi  # noqa: E402

from components.server import P2pVpsServer  # noqa: E402
from components.settings import load_settings  # noqa: E402

server = P2pVpsServer("p2pvps", load_settings())
for name, value in server.outputs.items():
    pulumi.export(name, value)
