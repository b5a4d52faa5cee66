"""A real gRPC MetadataStoreService on loopback for tests: every call of the ml-metadata gRPC client crosses a
real HTTP/2 channel and is answered by the real ml-metadata library over a SQLite store (opened READONLY, so the
server cannot change the file either). It stands in for KFP's metadata-grpc-service, which is the same service
in C++; only the Get* methods are served, as a read-only port-forward would be used."""

from __future__ import annotations

from concurrent import futures

import grpc
from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.metadata_store.pywrap.metadata_store_extension import metadata_store as pywrap
from ml_metadata.proto import metadata_store_pb2
from ml_metadata.proto import metadata_store_service_pb2 as svc

_SERVICE = svc.DESCRIPTOR.services_by_name["MetadataStoreService"]

# gRPC status codes by ml-metadata error code (both follow absl/grpc numbering).
def _status(code: int) -> grpc.StatusCode:
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return grpc.StatusCode.UNKNOWN


class MlmdGrpcServer:
    def __init__(self, sqlite_path: str, *, max_send_bytes: int | None = None,
                 fail: dict[str, grpc.StatusCode] | None = None):
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = str(sqlite_path)
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
        self.store = metadata_store.MetadataStore(config)
        self.calls: list[str] = []
        self.fail = dict(fail or {})       # method -> status: an MLMD server that errs on that call
        options = [("grpc.max_send_message_length", max_send_bytes)] if max_send_bytes else []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=options)
        handlers = {}
        for method in _SERVICE.methods:
            if not method.name.startswith("Get"):
                continue
            request_cls = getattr(svc, method.input_type.name)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                self._handler(method.name), request_deserializer=request_cls.FromString,
                response_serializer=lambda m: m.SerializeToString())
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE.full_name, handlers),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def _handler(self, name: str):
        def handle(request, context):
            self.calls.append(name)
            if name in self.fail:
                context.abort(self.fail[name], f"{name} failed: database is locked")
            response = getattr(svc, name + "Response")()
            payload, message, code = getattr(pywrap, name)(self.store._metadata_store, request.SerializeToString())
            if code != 0:
                context.abort(_status(code), message.decode("utf-8", "replace"))
            response.ParseFromString(payload)
            return response
        return handle

    def start(self) -> "MlmdGrpcServer":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=None)


class NotMlmdGrpcServer:
    """A gRPC server on loopback that serves some other service (as KFP's API server or an envoy would): every
    MLMD method is UNIMPLEMENTED."""

    def __init__(self):
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        echo = grpc.unary_unary_rpc_method_handler(lambda request, context: request,
                                                   request_deserializer=lambda b: b, response_serializer=lambda b: b)
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "kfp.api.v2beta1.RunService", {"ListRuns": echo}),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    def start(self) -> "NotMlmdGrpcServer":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=None)


__all__ = ["MlmdGrpcServer", "NotMlmdGrpcServer", "mlmd_errors"]
