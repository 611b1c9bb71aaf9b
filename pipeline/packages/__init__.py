"""E-ARK CSIP 2.0.4 information packages of a dossier (``sohoa export-package``): a SIP to
transfer, an AIP to keep, a DIP to hand to a requester, each one ZIP:

```
<OBJID>/METS.xml                          the package METS (METS 1.12 + CSIP extension)
        metadata/descriptive/dossier.json the Circular 05/2025/TT-BNV dossier fields, the dossier
        metadata/descriptive/dc.xml       Dublin Core
        metadata/preservation/premis.xml  PREMIS 3.0: objects, events, agents
        representations/rep1/METS.xml     the representation METS
        representations/rep1/metadata/descriptive/CODE.N.json   each document's fields
        representations/rep1/data/CODE.N.pdf                   PDF/A-2b, text layer
        representations/rep1/data/CODE.N/NNNN.jpg|png|tif      the stored page images
        representations/rep1/data/CODE.N/NNNN.alto.xml         ALTO 4.2 per page
        representations/rep1/data/CODE.N/original.*            the file received (SIP, AIP)
        schemas/                          METS, XLink, CSIP/SIP extensions, PREMIS, ALTO
        documentation/README.txt          what is where, and the field mapping
```

``build`` collects from the archive, ``assemble`` writes the metadata, ``mets`` and
``premis`` are the pure XML builders, ``metadata`` the Circular's fields, ``provenance``
the events, ``check`` the CSIP rules, ``validation`` the schemas (kept in ``schemas/``).
"""

from pipeline.packages.build import KINDS, export_package
from pipeline.packages.check import Finding, check_package

__all__ = ["KINDS", "Finding", "check_package", "export_package"]
