# The fuzz test's geoip file (tests/integration/test_fuzz_dnsnode.py): every address has a view,
# so a well-formed query for geo.fuzz.example.net always gets NOERROR.
geo.fuzz.example.net:
  - net: 0.0.0.0/0
    A: 192.0.2.60
  - net: 198.18.0.0/15
    A: 192.0.2.61
  - net: 198.18.5.0/24
    CNAME: www.fuzz.example.net.
  - net: ::/0
    AAAA: 2001:db8::60
  - net: 2001:db8:5::/48
    AAAA: 2001:db8::61
*.wgeo.fuzz.example.net:
  - net: 0.0.0.0/0
    A: 192.0.2.62
