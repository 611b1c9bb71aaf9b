"""Backends for the contract suite: every test runs against each.

Elasticsearch: with SOHOA_TEST_ELASTICSEARCH_URL set, that cluster; otherwise the
`osmem-server` binary (in-memory, OpenSearch-compatible) started on loopback for the session.
osmem answers 406 to the compatibility media type elasticsearch-py 9 sends, so the test
client rewrites it to application/json with a small node class: a shim for the tests only.
"""

from __future__ import annotations

import os
import uuid

import pytest

ES_URL = os.environ.get("SOHOA_TEST_ELASTICSEARCH_URL")


def _json_node_class():
    from elastic_transport import Urllib3HttpNode

    class JsonNode(Urllib3HttpNode):
        def perform_request(self, method, target, body=None, headers=None, **kwargs):
            fixed = {}
            for key, value in dict(headers or {}).items():
                if key.lower() in ("accept", "content-type") and "vnd.elasticsearch" in str(value):
                    value = "application/json"
                fixed[key] = value
            return super().perform_request(method, target, body=body, headers=fixed, **kwargs)

    return JsonNode


@pytest.fixture(scope="session")
def es_client():
    from elasticsearch import Elasticsearch

    if ES_URL:
        client = Elasticsearch(ES_URL, request_timeout=30)
        yield client
        client.close()
        return
    from osmem_server import OsmemServer

    with OsmemServer.start(japanese=False) as server:  # listens on 127.0.0.1, a free port
        client = Elasticsearch(server.url, node_class=_json_node_class(), request_timeout=30)
        yield client
        client.close()


# Tests of what an index written by an older sohoa does; the Tantivy backend has no older layout.
BEFORE_TANTIVY = {"test_an_index_from_before_names_answers_until_reindexed"}


@pytest.fixture(params=["embedded", "elasticsearch", "tantivy"])
def make_index(request, tmp_path):
    """A factory of empty indexes of the backend under test (one per call)."""
    if request.param == "tantivy" and request.node.originalname in BEFORE_TANTIVY:
        pytest.skip("no Tantivy index predates names: nothing older to answer from")
    made = []

    def make():
        if request.param == "embedded":
            from search.embedded import EmbeddedIndex

            idx = EmbeddedIndex(tmp_path / f"search-{len(made)}")
        elif request.param == "tantivy":
            from search.tantivy_index import TantivyIndex

            idx = TantivyIndex(tmp_path / f"tantivy-{len(made)}")
        else:
            from search.elastic import ElasticIndex

            client = request.getfixturevalue("es_client")
            idx = ElasticIndex(client, prefix=f"sohoa-test-{uuid.uuid4().hex[:12]}")
        made.append(idx)
        return idx

    yield make
    if request.param == "elasticsearch":
        client = request.getfixturevalue("es_client")
        for idx in made:
            client.indices.delete(index=f"{idx.alias}-*", ignore_unavailable=True)
            client.options(ignore_status=404).indices.delete_index_template(name=idx.template)
    for idx in made:
        if request.param in ("embedded", "tantivy"):
            idx.close()


@pytest.fixture
def index(make_index):
    return make_index()
