"""One P2P VPS server per stack: `pulumi up -s <stack>`."""

import pulumi

from components.server import P2pVpsServer
from components.settings import load_settings

settings = load_settings()
server = P2pVpsServer("p2pvps", settings)

pulumi.export("publicAddress", server.address)
pulumi.export("siteUrl", server.site_url)
pulumi.export("cmsAdminPassword", server.cms_admin_password)
if server.ssh_command is not None:
    pulumi.export("sshCommand", server.ssh_command)
