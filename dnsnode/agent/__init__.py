"""dnsnode health agent: announce the site's anycast prefixes only while the local DNS answers."""
