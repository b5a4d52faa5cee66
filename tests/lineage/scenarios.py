"""Small, named lineage scenarios written through builders.py, shared by several tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml_metadata.proto import metadata_store_pb2 as pb

from .builders import KfpV2Run, StoreBuilder, TfxRun


@dataclass
class Ids:
    executions: dict[str, int] = field(default_factory=dict)
    artifacts: dict[str, int] = field(default_factory=dict)


def kfp_v2_cached_rerun(b: StoreBuilder) -> Ids:
    """run-1: import raw -> preprocess -> train; run-2: preprocess is a cache hit of run-1's, train runs again."""
    ids = Ids()
    r1 = KfpV2Run(b, "churn", "6f1c2a1e-0000-4000-8000-000000000001")
    ids.executions["root1"] = r1.root_dag
    e, out = r1.importer("raw", "system.Dataset", "gs://data/churn/raw.csv")
    ids.executions["import1"], ids.artifacts["raw"] = e, out["artifact"][0]
    e, out = r1.task("preprocess", inputs={"raw": [ids.artifacts["raw"]]},
                     outputs={"train": "system.Dataset", "test": "system.Dataset"})
    ids.executions["prep1"], ids.artifacts["train"], ids.artifacts["test"] = e, out["train"][0], out["test"][0]
    e, out = r1.task("train-model", inputs={"dataset": [ids.artifacts["train"]]},
                     outputs={"model": ("system.Model", {"framework": "xgboost"}), "metrics": "system.Metrics"})
    ids.executions["train1"], ids.artifacts["model1"], ids.artifacts["metrics1"] = e, out["model"][0], out["metrics"][0]
    r2 = KfpV2Run(b, "churn", "6f1c2a1e-0000-4000-8000-000000000002")
    ids.executions["root2"] = r2.root_dag
    e, _ = r2.task("preprocess", inputs={"raw": [ids.artifacts["raw"]]}, state=pb.Execution.CACHED,
                   reuse={"train": [ids.artifacts["train"]], "test": [ids.artifacts["test"]]},
                   cached_from=ids.executions["prep1"])
    ids.executions["prep2"] = e
    e, out = r2.task("train-model", inputs={"dataset": [ids.artifacts["train"]]},
                     outputs={"model": "system.Model", "metrics": "system.Metrics"})
    ids.executions["train2"], ids.artifacts["model2"] = e, out["model"][0]
    return ids


def tfx_taxi(b: StoreBuilder, run_id: str = "taxi-pipeline-x7k2p", *, pipeline: str = "taxi",
             blessed: float | int | None = 1, push: bool = True, blessing_key: str = "model_blessing",
             anomalies: dict | None = None, on_kfp: bool = True, pushed: int = 1, examples: int | None = None,
             model_id_override: int | None = None) -> Ids:
    """A TFX IR run: ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform -> Trainer ->
    Evaluator -> Pusher. `blessed=None` writes a blessing without a verdict; `examples` re-uses examples."""
    ids = Ids()
    run = TfxRun(b, pipeline, run_id, on_kfp=on_kfp)
    if examples is None:
        e, out = run.node("CsvExampleGen", "ExampleGen", outputs={"examples": ("Examples", {"span": 1, "version": 0,
                                                                                           "split_names": '["train", "eval"]'})})
        ids.executions["examplegen"], ids.artifacts["examples"] = e, out["examples"][0]
    else:
        ids.artifacts["examples"] = examples
    e, out = run.node("StatisticsGen", inputs={"examples": [ids.artifacts["examples"]]},
                      outputs={"statistics": ("ExampleStatistics", {"span": 1})})
    ids.executions["statsgen"], ids.artifacts["statistics"] = e, out["statistics"][0]
    e, out = run.node("SchemaGen", inputs={"statistics": [ids.artifacts["statistics"]]}, outputs={"schema": "Schema"})
    ids.executions["schemagen"], ids.artifacts["schema"] = e, out["schema"][0]
    e, out = run.node("ExampleValidator", inputs={"statistics": [ids.artifacts["statistics"]],
                                                  "schema": [ids.artifacts["schema"]]},
                      outputs={"anomalies": ("ExampleAnomalies", dict(anomalies or {}))})
    ids.executions["validator"], ids.artifacts["anomalies"] = e, out["anomalies"][0]
    e, out = run.node("Transform", inputs={"examples": [ids.artifacts["examples"]], "schema": [ids.artifacts["schema"]]},
                      outputs={"transform_graph": "TransformGraph",
                               "transformed_examples": ("Examples", {"span": 1})})
    ids.executions["transform"] = e
    ids.artifacts["transform_graph"], ids.artifacts["transformed"] = out["transform_graph"][0], out["transformed_examples"][0]
    e, out = run.node("Trainer", inputs={"examples": [ids.artifacts["transformed"]],
                                         "transform_graph": [ids.artifacts["transform_graph"]],
                                         "schema": [ids.artifacts["schema"]]},
                      outputs={"model": "Model", "model_run": "ModelRun"})
    ids.executions["trainer"], ids.artifacts["model"] = e, out["model"][0]
    blessing_props = {}
    if blessed is not None:
        blessing_props = {"blessed": blessed, "current_model": "gs://bucket/tfx/Trainer/model",
                          "current_model_id": model_id_override or ids.artifacts["model"]}
    e, out = run.node("Evaluator", inputs={"examples": [ids.artifacts["examples"]], "model": [ids.artifacts["model"]]},
                      outputs={"evaluation": "ModelEvaluation", "blessing": ("ModelBlessing", blessing_props)})
    ids.executions["evaluator"], ids.artifacts["blessing"] = e, out["blessing"][0]
    if push:
        e, out = run.node("Pusher", inputs={"model": [ids.artifacts["model"]], blessing_key: [ids.artifacts["blessing"]]},
                          outputs={"pushed_model": ("PushedModel", {"pushed": pushed,
                                                                    "pushed_destination": "gs://serving/taxi"})})
        ids.executions["pusher"], ids.artifacts["pushed"] = e, out["pushed_model"][0]
    ids.run = run
    return ids


DIGEST = "@sha256:" + "ab" * 32


def kfp_v2_release(b: StoreBuilder, run_id: str, *, pipeline: str = "llm", evaluate: bool = True,
                   image: str = f"us-docker.pkg.dev/acme/ml/trainer{DIGEST}",
                   data_uri: str = "gs://acme-ml-data/llm/train.jsonl", data: int | None = None,
                   release_step: str = "register-model") -> Ids:
    """A KFP v2 run that registers a model: importer -> prepare -> train (model + training metrics) ->
    [evaluate (model -> metrics)] -> register-model (model -> registered model). Every image by digest unless
    `image` says otherwise; `data` trains on an existing dataset artifact instead of importing `data_uri`."""
    ids = Ids()
    run = KfpV2Run(b, pipeline, run_id)
    if data is None:
        e, out = run.importer("raw", "system.Dataset", data_uri)
        ids.executions["import"], ids.artifacts["raw"] = e, out["artifact"][0]
    else:
        ids.artifacts["raw"] = data
    e, out = run.task("prepare", inputs={"raw": [ids.artifacts["raw"]]}, outputs={"dataset": "system.Dataset"},
                      image=f"us-docker.pkg.dev/acme/ml/prep{DIGEST}")
    ids.executions["prepare"], ids.artifacts["dataset"] = e, out["dataset"][0]
    e, out = run.task("train", inputs={"dataset": [ids.artifacts["dataset"]]}, image=image,
                      outputs={"model": "system.Model", "metrics": "system.Metrics"})
    ids.executions["train"], ids.artifacts["model"] = e, out["model"][0]
    if evaluate:
        e, out = run.task("evaluate", inputs={"model": [ids.artifacts["model"]]},
                          outputs={"metrics": "system.ClassificationMetrics"},
                          image=f"us-docker.pkg.dev/acme/ml/eval{DIGEST}")
        ids.executions["evaluate"] = e
    e, out = run.task(release_step, inputs={"model": [ids.artifacts["model"]]},
                      outputs={"registered_model": "system.Model"},
                      image=f"us-docker.pkg.dev/acme/ml/registry-client{DIGEST}")
    ids.executions["release"], ids.artifacts["registered"] = e, out["registered_model"][0]
    ids.run = run
    return ids


def unproduced_dataset(b: StoreBuilder, uri: str = "gs://somewhere-else/leaked.csv") -> int:
    """A dataset put into MLMD with no execution producing it (a hand-registered or tool-written artifact)."""
    return b.put_artifact(b.new_artifact("system.Dataset", uri, custom={"display_name": "leaked"}))
