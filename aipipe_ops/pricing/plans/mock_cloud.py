"""Plausible outputs for a program run under Pulumi's mocks, so `apply` chains resolve to real-looking
values (ids, emails, endpoints, project numbers) instead of None.

Each resource echoes its inputs and adds the computed outputs the provider would return, in the
provider's camelCase. Values are derived from the inputs by hashing, never random: two runs of the
same stack give the same outputs, so golden files stay stable.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Callable

from pulumi.runtime import Mocks, MockCallArgs, MockResourceArgs

MOCK_CA_CERTIFICATE = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n").decode()


def _digits(*parts: str, length: int = 12) -> str:
    number = int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16)
    return str(number)[:length].rjust(length, "1")


def _ip(*parts: str, prefix: str = "10.0") -> str:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return f"{prefix}.{digest[0]}.{max(digest[1], 2)}"


class PlausibleCloud(Mocks):
    """Mocks answering as Google Cloud and Kubernetes would, for one project and region."""

    def __init__(self, project: str, region: str | None = None):
        self.project = project or "mock-project"
        self.region = region or "us-central1"
        self._outputs: dict[str, Callable[[MockResourceArgs, dict], tuple[str, dict]]] = {
            "gcp:compute/network:Network": self._network,
            "gcp:compute/subnetwork:Subnetwork": self._subnetwork,
            "gcp:compute/router:Router": self._regional("routers"),
            "gcp:compute/routerNat:RouterNat": self._router_nat,
            "gcp:serviceaccount/account:Account": self._service_account,
            "gcp:container/cluster:Cluster": self._cluster,
            "gcp:container/nodePool:NodePool": self._node_pool,
            "gcp:storage/bucket:Bucket": self._bucket,
            "gcp:bigquery/dataset:Dataset": self._dataset,
            "gcp:billing/budget:Budget": self._budget,
        }

    # Resources ---------------------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        state = dict(args.inputs)
        handler = self._outputs.get(args.typ)
        if handler is not None:
            return handler(args, state)
        if args.typ.startswith("kubernetes:"):
            metadata = state.get("metadata") or {}
            return f"{metadata.get('namespace', '')}/{metadata.get('name', args.name)}".lstrip("/"), state
        state.setdefault("etag", f"BwY{_digits(args.typ, args.name, length=8)}=")
        return f"{args.name}-id", state

    def _project(self, state: dict) -> str:
        return state.get("project") or self.project

    def _network(self, args, state):
        name = state.get("name", args.name)
        id_ = f"projects/{self._project(state)}/global/networks/{name}"
        state.update(name=name, selfLink=f"https://www.googleapis.com/compute/v1/{id_}",
                     numericId=_digits(id_, length=19))
        return id_, state

    def _subnetwork(self, args, state):
        name = state.get("name", args.name)
        region = state.get("region", self.region)
        id_ = f"projects/{self._project(state)}/regions/{region}/subnetworks/{name}"
        network = state.get("ipCidrRange", "10.0.0.0/20").split("/")[0]
        state.update(name=name, selfLink=f"https://www.googleapis.com/compute/v1/{id_}",
                     gatewayAddress=network.rsplit(".", 1)[0] + ".1")
        return id_, state

    def _regional(self, collection: str):
        def outputs(args, state):
            name = state.get("name", args.name)
            id_ = f"projects/{self._project(state)}/regions/{state.get('region', self.region)}/{collection}/{name}"
            state.update(name=name, selfLink=f"https://www.googleapis.com/compute/v1/{id_}")
            return id_, state
        return outputs

    def _router_nat(self, args, state):
        name = state.get("name", args.name)
        return f"{self._project(state)}/{state.get('region', self.region)}/{state.get('router')}/{name}", state

    def _service_account(self, args, state):
        project = self._project(state)
        email = f"{state.get('accountId', args.name)}@{project}.iam.gserviceaccount.com"
        state.update(email=email, member=f"serviceAccount:{email}", name=f"projects/{project}/serviceAccounts/{email}",
                     uniqueId=_digits(email, length=21))
        return state["name"], state

    def _cluster(self, args, state):
        name = state.get("name", args.name)
        location = state.get("location", self.region)
        id_ = f"projects/{self._project(state)}/locations/{location}/clusters/{name}"
        state.update(
            name=name, selfLink=f"https://container.googleapis.com/v1/{id_}",
            endpoint=_ip(id_, prefix="34.118"),
            masterAuth={**(state.get("masterAuth") or {}), "clusterCaCertificate": MOCK_CA_CERTIFICATE},
            masterVersion="1.33.5-gke.1000000",
            privateClusterConfig={**(state.get("privateClusterConfig") or {}),
                                  "privateEndpoint": _ip(id_, prefix="172.16"),
                                  "publicEndpoint": _ip(id_, prefix="34.118")},
        )
        return id_, state

    def _node_pool(self, args, state):
        name = state.get("name", args.name)
        cluster = state.get("cluster", "")
        return f"{cluster}/nodePools/{name}", {**state, "name": name}

    def _bucket(self, args, state):
        name = state.get("name", args.name)
        state.update(name=name, url=f"gs://{name}", selfLink=f"https://www.googleapis.com/storage/v1/b/{name}")
        return name, state

    def _dataset(self, args, state):
        dataset = state.get("datasetId", args.name)
        id_ = f"projects/{self._project(state)}/datasets/{dataset}"
        state.update(selfLink=f"https://bigquery.googleapis.com/bigquery/v2/{id_}", etag=_digits(id_, length=8))
        return id_, state

    def _budget(self, args, state):
        account = state.get("billingAccount", "000000-000000-000000")
        budget_id = hashlib.sha256(f"{account}/{args.name}".encode()).hexdigest()[:32]
        name = f"billingAccounts/{account}/budgets/{budget_id}"
        return name, {**state, "name": name, "budgetId": budget_id}

    # Invokes -----------------------------------------------------------------------------------

    def call(self, args: MockCallArgs) -> dict:
        if args.token == "gcp:organizations/getProject:getProject":
            project = args.args.get("projectId") or self.project
            return {"projectId": project, "number": _digits(project), "name": project,
                    "id": f"projects/{project}"}
        if args.token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"project": self.project, "region": self.region, "zone": "", "accessToken": "mock-token",
                    "id": "mock"}
        return {}
