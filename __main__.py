"""One P2P VPS server per stack: `pulumi up -s <stack>`."""

import pulumi

from components.server import P2pVpsServer
from components.settings import load_settings

server = P2pVpsServer("p2pvps", load_settings())
for name, value in server.outputs.items():
    pulumi.export(name, value)
