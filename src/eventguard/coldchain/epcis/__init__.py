"""GS1 EPCIS 2.0: the JSON/JSON-LD binding's rules, the repository's documents, the queries.

``vocabulary``: the Core Business Vocabulary terms and the loop's own terms;
``formats``: URIs and date-times; ``validation``: a document checked against the rules of the
EPCIS 2.0 JSON schema; ``model``: a validated event in typed form; ``documents``: the events
and query documents EventGuard writes.
"""
