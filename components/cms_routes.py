"""Which ConnextCMS routes Nginx lets anyone reach; every other path answers only to adminCidrs.

The same split, route by route and with who calls each, is the table in
compose/connextcms/README.md; the CMS checks sessions and owners itself (p2pvps-access.js).
"""

from __future__ import annotations

from dataclasses import dataclass

RECORD_ID = "[0-9a-f]{24}"
# A public request carries at most a form (sign-up, contact, a device's figures); only
# administrators upload files (KeystoneJS's own limit is 50 MB).
PUBLIC_BODY_LIMIT = "64k"
# The contact form: a name, an address and a message.
CONTACT_BODY_LIMIT = "16k"
ADMIN_BODY_LIMIT = "50m"
# The header the Listing-Manager proves itself with on the stack network; never taken from outside.
SERVICE_TOKEN_HEADER = "X-P2PVPS-Service-Token"


@dataclass(frozen=True)
class RateLimit:
    """A `limit_req` zone per client network (an IPv4 address, an IPv6 /64): `rate`, and `burst` more
    at once; of POST requests only when `posts_only`."""

    zone: str
    rate: str
    burst: int
    posts_only: bool = False


SIGN_IN = RateLimit("cms_sign_in", "10r/m", 5)
SIGN_UP = RateLimit("cms_sign_up", "5r/m", 2)
PASSWORD_RESET = RateLimit("cms_password_reset", "3r/m", 2)
# Each message is stored and may be mailed on; showing the form is not limited.
CONTACT = RateLimit("cms_contact", "3r/m", 2, posts_only=True)
RATE_LIMITS = (SIGN_IN, SIGN_UP, PASSWORD_RESET, CONTACT)


@dataclass(frozen=True)
class PublicRoute:
    """An Nginx `location` anyone may reach, and who it is there for."""

    location: str
    callers: str
    rate_limit: RateLimit | None = None
    body_limit: str = PUBLIC_BODY_LIMIT


PUBLIC_ROUTES = (
    PublicRoute("= /", "visitors: the home page"),
    PublicRoute("~ ^/blog(/post)?(/[^/]+)?$", "visitors: the blog"),
    PublicRoute(
        "~ ^/(gallery|resetpassword|createaccount|renew|market)$",
        "visitors: site pages, sign-up, password reset, renewals, the market app (it asks for a sign-in)",
    ),
    PublicRoute("= /contact", "visitors: the contact form", CONTACT, CONTACT_BODY_LIMIT),
    PublicRoute("~ ^/(page|privatepage)/[^/]+$", "visitors: content pages (private ones for signed-in users)"),
    PublicRoute("= /favicon.ico", "browsers"),
    PublicRoute("~ ^/(static|js|styles|fonts|images|uploads|plugins)/", "everyone: static files and uploads"),
    PublicRoute("~ ^/keystone/(signin|signout)$", "users: KeystoneJS's sign-in and sign-out pages"),
    PublicRoute(
        r"~ ^/keystone/(js/(packages|signin)\.js$|(styles|images|fonts)/)", "users: what the sign-in page loads"
    ),
    PublicRoute("= /keystone/api/session", "every page: whether the visitor is signed in"),
    PublicRoute("= /keystone/api/session/signin", "users: sign-in (the sign-in page and the market app)", SIGN_IN),
    PublicRoute("= /keystone/api/session/signout", "users: sign-out"),
    PublicRoute("= /api/users/create", "visitors: sign-up (administrators: new users)", SIGN_UP),
    PublicRoute("= /api/email/resetpassword", "users: a new password by e-mail", PASSWORD_RESET),
    PublicRoute(
        f"~ ^/api/(page|pagesection|post|postcategory|frontendwidget|privatepage)/(list|{RECORD_ID})$",
        "every page: menus and content (private pages for signed-in users)",
    ),
    PublicRoute(
        "~ ^/api/(getUserId|devicePublicData/(create|listById)|devicePrivateData/(create|listById)|obContract/create)$",
        "signed-in users, through the market app: their devices and listings",
    ),
    PublicRoute(
        f"~ ^/api/(devicePublicData/{RECORD_ID}/(update|remove)|obContract/{RECORD_ID}/remove"
        f"|ob/(create|remove)MarketListing/{RECORD_ID})$",
        "signed-in users, through the market app: records they own",
    ),
    PublicRoute(
        f"~ ^/api/(devicePublicData/{RECORD_ID}(/register)?"
        f"|deviceCheckIn/{RECORD_ID}|getDeviceExpiration/{RECORD_ID})$",
        "devices (the P2P VPS client): registration, check-in, expiry",
    ),
    PublicRoute(f"~ ^/api/rentedDevices/renew/{RECORD_ID}$", "renters: renewing a rental (the /renew page)"),
)
