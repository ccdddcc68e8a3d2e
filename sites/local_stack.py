"""Development on the local stand-ins: moto's server for AWS, the edge gateway for CloudFront.

There a site is reached as http://<name>.localhost:<gateway port>/ (browsers
send every *.localhost name to loopback), no certificate is involved, and the
CloudFront address moto invents does not resolve.
"""

from django.conf import settings

LOCAL_SUFFIX = ".localhost"


def local_stack() -> bool:
    """Whether the console runs against the local stand-ins (never in production)."""
    return bool(settings.GATEHOUSE_AWS_ENDPOINT_URL) and not settings.PRODUCTION


def host_needs_certificate(host: str) -> bool:
    """A custom name CloudFront must serve needs an ACM certificate; a *.localhost
    name behind the local gateway does not."""
    return not (local_stack() and host.endswith(LOCAL_SUFFIX))


def local_host_for(slug: str) -> str:
    """The address a site without host names gets on the local stack."""
    return f"{slug}{LOCAL_SUFFIX}"
