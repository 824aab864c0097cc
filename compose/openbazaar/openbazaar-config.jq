# Merged into <data>/config on every start by p2pvps-openbazaar-entrypoint.
# Inputs: $username, $password_sha256 (64 lower-case hex digits), $wallet_type,
# $fresh (true only right after `openbazaard init`).
# Everything not named here (Identity, Bootstrap, Datastore, Wallets, ...) is kept
# exactly as init wrote it.

# JSON API: HTTP Basic auth against the SHA-256 of the password, no TLS (only the
# internal Docker network reaches port 4002), no IP allow-list (the other
# containers' addresses are not fixed).
.["JSON-API"] = ((.["JSON-API"] // {}) + {
    "Enabled": true,
    "Authenticated": true,
    "SSL": false,
    "SSLCert": "",
    "SSLKey": "",
    "AllowedIPs": [],
    "Username": $username,
    "Password": $password_sha256
  })
# The JSON API is served on the gateway address.
| .Addresses.Gateway = "/ip4/0.0.0.0/tcp/4002"
# libp2p swarm on 4001, IPv4 and IPv6 (keep init's other listeners).
| .Addresses.Swarm = reduce ("/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001") as $swarm
    (.Addresses.Swarm // []; if any(.[]; . == $swarm) then . else . + [$swarm] end)
# The coin is chosen once, before the first start; changing it later would
# orphan the wallet (use `openbazaard convert` for that).
| if $fresh then .Wallet.Type = $wallet_type else . end
