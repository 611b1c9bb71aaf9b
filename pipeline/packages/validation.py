"""The XML schemas a package is checked against, kept in the repository (nothing is downloaded):
METS 1.12 with the E-ARK CSIP and SIP extension attributes and PREMIS 3.0 in ``schemas/``
beside this module; ALTO 4.2 and the XLink schema METS and ALTO import in ``ocr/schemas``.

The schema files are kept exactly as published (sources in ``schemas/README.md``). METS 1.12
imports XLink from the Library of Congress's URL; a resolver maps that URL to the local copy
and refuses every other http(s) URL, and the parsers are made with ``no_network``, so a
validation never reaches the network.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ocr.alto import SCHEMA as ALTO_XSD

SCHEMAS = Path(__file__).parent / "schemas"
METS_XSD = SCHEMAS / "mets.xsd"
PREMIS_XSD = SCHEMAS / "premis-v3-0.xsd"
CSIP_XSD = SCHEMAS / "DILCISExtensionMETS.xsd"
SIP_XSD = SCHEMAS / "DILCISExtensionSIPMETS.xsd"
XLINK_XSD = ALTO_XSD.parent / "xlink.xsd"

NS_METS = "http://www.loc.gov/METS/"
NS_CSIP = "https://DILCIS.eu/XML/METS/CSIPExtensionMETS"
NS_SIP = "https://DILCIS.eu/XML/METS/SIPExtensionMETS"
NS_PREMIS = "http://www.loc.gov/premis/v3"
NS_XLINK = "http://www.w3.org/1999/xlink"

# Where a published schema is imported from -> the copy kept here.
_LOCAL = {"http://www.loc.gov/standards/xlink/xlink.xsd": XLINK_XSD}

# A package's schemas/ folder: file name there -> the file kept here (CSIPSTR15, CSIP113).
PACKAGE_SCHEMAS = {
    "mets.xsd": METS_XSD,
    "xlink.xsd": XLINK_XSD,
    "DILCISExtensionMETS.xsd": CSIP_XSD,
    "DILCISExtensionSIPMETS.xsd": SIP_XSD,
    "premis-v3-0.xsd": PREMIS_XSD,
    "alto-4-2.xsd": ALTO_XSD,
}


def _parser():
    from lxml import etree

    class Local(etree.Resolver):
        def resolve(self, url, pubid, context):
            if url in _LOCAL:
                return self.resolve_filename(str(_LOCAL[url]), context)
            if url.startswith(("http:", "https:", "ftp:")):
                raise OSError(f"schema {url} is not kept locally (nothing is downloaded)")
            return None

    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(Local())
    return parser


@lru_cache(maxsize=1)
def mets_schema():
    """METS 1.12 and the CSIP and SIP extension attributes, as one schema: attributes of the
    extension namespaces (``csip:OAISPACKAGETYPE``…) are checked against their declarations
    through METS's ``anyAttribute processContents="lax"``."""
    from lxml import etree

    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{path.as_uri()}"/>'
                      for ns, path in ((NS_METS, METS_XSD), (NS_CSIP, CSIP_XSD),
                                       (NS_SIP, SIP_XSD)))
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    doc = etree.fromstring(wrapper.encode(), _parser(), base_url=str(SCHEMAS / "wrapper.xsd"))
    return etree.XMLSchema(etree.ElementTree(doc))


@lru_cache(maxsize=1)
def premis_schema():
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(PREMIS_XSD), _parser()))


def _validate(schema, xml: bytes) -> list[str]:
    from lxml import etree

    try:
        doc = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False,
                                                           no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate_mets(xml: bytes) -> list[str]:
    """What makes ``xml`` invalid METS 1.12 with the CSIP/SIP extensions (empty: valid)."""
    return _validate(mets_schema(), xml)


def validate_premis(xml: bytes) -> list[str]:
    """What makes ``xml`` invalid PREMIS 3.0 (empty: valid)."""
    return _validate(premis_schema(), xml)
