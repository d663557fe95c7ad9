"""Hosting services whose custom-domain CNAMEs can be claimed by anyone once the resource behind them is
deleted (subdomain takeover), and the signal that proves the resource is gone.

One row per service: the CNAME suffixes it hands out, the signal — "NXDOMAIN" when the service's own
DNS stops answering for a deleted resource, otherwise a text its default page shows for an unclaimed
host — whether the can-i-take-over-xyz project lists the service as claimable ("vulnerable") or as an
edge case that needs more than the signal, and the source of the row. Adding a service is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass

NXDOMAIN = "NXDOMAIN"
CITXYZ = "https://github.com/EdOverflow/can-i-take-over-xyz"


@dataclass(frozen=True)
class Provider:
    service: str
    suffixes: tuple[str, ...]
    signal: str  # NXDOMAIN, or a text of the page an unclaimed host serves
    status: str  # "vulnerable" or "edge case", as can-i-take-over-xyz rates it
    source: str


PROVIDERS: tuple[Provider, ...] = (
    Provider("Microsoft Azure", ("azurewebsites.net", "cloudapp.net", "cloudapp.azure.com", "blob.core.windows.net",
                                 "azure-api.net", "azurehdinsight.net", "azureedge.net"),
             NXDOMAIN, "vulnerable", CITXYZ + "/issues/35"),
    Provider("Azure Traffic Manager", ("trafficmanager.net",), NXDOMAIN, "vulnerable",
             "https://github.com/Ice3man543/SubOver/issues/19"),
    Provider("AWS Elastic Beanstalk", ("elasticbeanstalk.com",), NXDOMAIN, "vulnerable", CITXYZ + "/issues/194"),
    Provider("AWS S3", ("s3.amazonaws.com",), "The specified bucket does not exist", "vulnerable", CITXYZ + "/issues/36"),
    Provider("GitHub Pages", ("github.io",), "There isn't a GitHub Pages site here.", "edge case", CITXYZ + "/issues/37"),
    Provider("Heroku", ("herokuapp.com", "herokudns.com", "herokussl.com"), "No such app", "edge case",
             CITXYZ + "/issues/38"),
    Provider("Netlify", ("netlify.app", "netlify.com"), "Not Found - Request ID:", "edge case", CITXYZ + "/issues/40"),
    Provider("Vercel", ("vercel.app", "vercel-dns.com", "now.sh"), "The deployment could not be found on Vercel.",
             "edge case", CITXYZ + "/issues/183"),
    Provider("Fastly", ("fastly.net",), "Fastly error: unknown domain:", "edge case", CITXYZ + "/issues/22"),
    Provider("Shopify", ("myshopify.com",), "Sorry, this shop is currently unavailable.", "edge case",
             CITXYZ + "/issues/32"),
    Provider("Bitbucket", ("bitbucket.io",), "Repository not found", "vulnerable", CITXYZ + " (README: Bitbucket)"),
    Provider("Ghost", ("ghost.io",), "The thing you were looking for is no longer here, or never was", "vulnerable",
             CITXYZ + "/issues/89"),
    Provider("Help Scout", ("helpscoutdocs.com",), "No settings were found for this company:", "vulnerable",
             CITXYZ + " (README: Help Scout)"),
    Provider("Surge.sh", ("surge.sh",), "project not found", "vulnerable", CITXYZ + " (README: Surge.sh)"),
    Provider("Pantheon", ("pantheonsite.io",), "404 error unknown site!", "vulnerable", CITXYZ + "/issues/24"),
    Provider("Wordpress", ("wordpress.com",), "Do you want to register", "vulnerable", CITXYZ + "/pull/176"),
    Provider("Agile CRM", ("agilecrm.com",), "Sorry, this page is no longer available.", "vulnerable",
             CITXYZ + "/issues/145"),
    Provider("Gemfury", ("furyns.com",), "404: This page could not be found.", "vulnerable", CITXYZ + "/issues/154"),
    Provider("HatenaBlog", ("hatenablog.com",), "404 Blog is not found", "vulnerable", CITXYZ + " (README: HatenaBlog)"),
    Provider("JetBrains YouTrack", ("youtrack.cloud",), "is not a registered InCloud YouTrack", "vulnerable",
             CITXYZ + " (README: JetBrains)"),
)


def provider_for(name: str) -> Provider | None:
    """The service whose suffix `name` ends with (on a label boundary), if any."""
    host = name.lower().rstrip(".")
    for provider in PROVIDERS:
        if any(host == s or host.endswith("." + s) for s in provider.suffixes):
            return provider
    return None
