"""The pipeline catalogue: shapes, resources, images and artifact types of the sample fleet's pipelines.

Each pipeline is run through its own scenario logic in fleet.py; this module holds only the static facts.
Requests are per pod (CPU in millicores, memory in MiB); durations are (min, max) minutes of the user pod.
"""

from __future__ import annotations

from dataclasses import dataclass

TFX_VERSION = "1.15.1"  # the last TFX release with KubeflowDagRunner (removed in 1.16.0, lineage.md §5.4)
TFX_IMAGE = f"gcr.io/tfx-oss-public/tfx:{TFX_VERSION}"
KFP_BACKEND_VERSION = "2.5.0"
KFP_DRIVER_IMAGE = f"gcr.io/ml-pipeline/kfp-driver:{KFP_BACKEND_VERSION}"
KFP_PIPELINE_ROOT = "gs://acme-ml-prod-kfp/v2/artifacts"
DRIVER_CPU_M, DRIVER_MEMORY_MIB = 100, 64  # KFP v2 driver pods (billing.md §3.2)


@dataclass(frozen=True)
class StepSpec:
    name: str  # KFP task name, or TFX node id
    component: str  # KFP component name, or TFX component class path
    pool: str
    cpu_m: int
    memory_mib: int
    minutes: tuple[float, float]
    deps: tuple[str, ...] = ()
    inputs: tuple[tuple[str, str, str], ...] = ()  # (input key, producer step, producer output key)
    outputs: tuple[tuple[str, str], ...] = ()  # (output key, artifact type name)
    image: str = TFX_IMAGE
    gpus: int = 0
    tpu_chips: int = 0
    egress_mib_per_min: int = 20  # inter-zone traffic (reads from GCS front-ends, MinIO, MySQL) per minute


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    orchestrator: str  # "tfx" (TFX IR written by the component pods) | "kfp-v2" (written by the KFP v2 backend)
    namespace: str
    steps: tuple[StepSpec, ...]
    weight: float  # share of --runs beyond the scenario minimum
    schedule_hour: float | None  # UTC hour of the recurring run; None = ad-hoc runs only
    min_runs: int

    def step(self, name: str) -> StepSpec:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)


def _tfx(cls: str) -> str:
    return f"tfx.components.{cls}"


TAXI_TFX = PipelineSpec(
    name="taxi-tfx",
    orchestrator="tfx",
    namespace="team-a",
    weight=0.30,
    schedule_hour=2.0,
    min_runs=6,
    steps=(
        StepSpec("CsvExampleGen", _tfx("example_gen.csv_example_gen.component.CsvExampleGen"), "cpu-pool", 2000,
                 8192, (15, 30), outputs=(("examples", "Examples"),), egress_mib_per_min=120),
        StepSpec("StatisticsGen", _tfx("statistics_gen.component.StatisticsGen"), "cpu-pool", 2000, 8192, (10, 20),
                 deps=("CsvExampleGen",), inputs=(("examples", "CsvExampleGen", "examples"),),
                 outputs=(("statistics", "ExampleStatistics"),)),
        StepSpec("SchemaGen", _tfx("schema_gen.component.SchemaGen"), "cpu-pool", 500, 2048, (2, 4),
                 deps=("StatisticsGen",), inputs=(("statistics", "StatisticsGen", "statistics"),),
                 outputs=(("schema", "Schema"),)),
        StepSpec("ExampleValidator", _tfx("example_validator.component.ExampleValidator"), "cpu-pool", 1000, 4096,
                 (3, 6), deps=("SchemaGen",),
                 inputs=(("statistics", "StatisticsGen", "statistics"), ("schema", "SchemaGen", "schema")),
                 outputs=(("anomalies", "ExampleAnomalies"),)),
        StepSpec("Transform", _tfx("transform.component.Transform"), "cpu-pool", 4000, 16384, (25, 45),
                 deps=("SchemaGen",),
                 inputs=(("examples", "CsvExampleGen", "examples"), ("schema", "SchemaGen", "schema")),
                 outputs=(("transform_graph", "TransformGraph"), ("transformed_examples", "Examples")),
                 egress_mib_per_min=80),
        StepSpec("Trainer", _tfx("trainer.component.Trainer"), "cpu-pool", 4000, 16384, (60, 120),
                 deps=("Transform", "ExampleValidator"),
                 inputs=(("examples", "Transform", "transformed_examples"),
                         ("transform_graph", "Transform", "transform_graph"), ("schema", "SchemaGen", "schema")),
                 outputs=(("model", "Model"), ("model_run", "ModelRun"))),
        StepSpec("Evaluator", _tfx("evaluator.component.Evaluator"), "cpu-pool", 2000, 8192, (20, 35),
                 deps=("Trainer",),
                 inputs=(("examples", "CsvExampleGen", "examples"), ("model", "Trainer", "model")),
                 outputs=(("evaluation", "ModelEvaluation"), ("blessing", "ModelBlessing"))),
        StepSpec("Pusher", _tfx("pusher.component.Pusher"), "cpu-pool", 500, 1024, (1, 3), deps=("Evaluator",),
                 inputs=(("model", "Trainer", "model"), ("_Evaluator.blessing", "Evaluator", "blessing")),
                 outputs=(("pushed_model", "PushedModel"),), egress_mib_per_min=300),
    ),
)

_LLM_IMAGE = "us-docker.pkg.dev/acme-ml-prod/ml/llm-finetune:2026.09.3"
LLM_FINETUNE = PipelineSpec(
    name="llm-finetune",
    orchestrator="kfp-v2",
    namespace="team-b",
    weight=0.22,
    schedule_hour=None,
    min_runs=5,
    steps=(
        StepSpec("prepare-data", "prepare-data", "cpu-pool", 4000, 16384, (20, 40), image=_LLM_IMAGE,
                 outputs=(("dataset", "system.Dataset"),), egress_mib_per_min=150),
        StepSpec("finetune", "finetune", "gpu-a100", 11000, 76800, (120, 300), deps=("prepare-data",),
                 inputs=(("dataset", "prepare-data", "dataset"),),
                 outputs=(("model", "system.Model"), ("metrics", "system.Metrics")), image=_LLM_IMAGE, gpus=1),
        StepSpec("evaluate", "evaluate", "gpu-l4-spot", 6000, 24576, (20, 40), deps=("finetune",),
                 inputs=(("model", "finetune", "model"), ("dataset", "prepare-data", "dataset")),
                 outputs=(("metrics", "system.Metrics"),), image=_LLM_IMAGE, gpus=1),
        StepSpec("register-model", "register-model", "cpu-pool", 500, 1024, (1, 3), deps=("evaluate",),
                 inputs=(("model", "finetune", "model"),), outputs=(("registered_model", "system.Model"),),
                 image="us-docker.pkg.dev/acme-ml-prod/ml/model-registry-client:1.4.0", egress_mib_per_min=400),
    ),
)
# The cheaper variant of the finetune task, on the spot L4 pool (chosen per run).
FINETUNE_L4 = StepSpec("finetune", "finetune", "gpu-l4-spot", 7000, 26624, (240, 480), deps=("prepare-data",),
                       inputs=(("dataset", "prepare-data", "dataset"),),
                       outputs=(("model", "system.Model"), ("metrics", "system.Metrics")), image=_LLM_IMAGE,
                       gpus=1)

_TPU_IMAGE = "us-docker.pkg.dev/acme-ml-prod/ml/jax-pretrain:2026.09.1"
TPU_PRETRAIN = PipelineSpec(
    name="tpu-pretrain",
    orchestrator="kfp-v2",
    namespace="team-b",
    weight=0.08,
    schedule_hour=22.0,
    min_runs=1,
    steps=(
        StepSpec("tokenize", "tokenize", "cpu-pool", 6000, 24576, (60, 120), image=_TPU_IMAGE,
                 outputs=(("dataset", "system.Dataset"),), egress_mib_per_min=200),
        StepSpec("pretrain", "pretrain", "tpu-v5e", 100000, 163840, (600, 1500), deps=("tokenize",),
                 inputs=(("dataset", "tokenize", "dataset"),),
                 outputs=(("checkpoint", "system.Model"), ("metrics", "system.Metrics")), image=_TPU_IMAGE,
                 tpu_chips=4),
        StepSpec("export-checkpoint", "export-checkpoint", "cpu-pool", 2000, 8192, (15, 30), deps=("pretrain",),
                 inputs=(("checkpoint", "pretrain", "checkpoint"),), outputs=(("model", "system.Model"),),
                 image=_TPU_IMAGE, egress_mib_per_min=300),
    ),
)

_SCORING_IMAGE = "us-docker.pkg.dev/acme-ml-prod/ml/batch-scoring:3.2.0"
NIGHTLY_SCORING = PipelineSpec(
    name="nightly-scoring",
    orchestrator="kfp-v2",
    namespace="team-a",
    weight=0.30,
    schedule_hour=6.0,
    min_runs=1,
    steps=(
        StepSpec("load-features", "load-features", "cpu-pool", 2000, 8192, (10, 20), image=_SCORING_IMAGE,
                 outputs=(("features", "system.Dataset"),), egress_mib_per_min=150),
        # `model` is the latest PushedModel of taxi-tfx: cross-run, cross-orchestrator lineage (see fleet.py).
        StepSpec("score", "score", "cpu-pool", 4000, 16384, (25, 50), deps=("load-features",),
                 inputs=(("features", "load-features", "features"),),
                 outputs=(("predictions", "system.Dataset"), ("metrics", "system.Metrics")),
                 image=_SCORING_IMAGE),
        StepSpec("publish-predictions", "publish-predictions", "cpu-pool", 500, 1024, (2, 5), deps=("score",),
                 inputs=(("predictions", "score", "predictions"),), image=_SCORING_IMAGE,
                 egress_mib_per_min=250),
    ),
)

_PENGUIN_IMAGE = f"us-docker.pkg.dev/acme-ml-prod/ml/penguin-tfx:{TFX_VERSION}"
PENGUIN_TFX_V2 = PipelineSpec(
    name="penguin-tfx-v2",
    orchestrator="kfp-v2",  # a TFX pipeline compiled with KubeflowV2DagRunner: the KFP v2 backend writes MLMD
    namespace="team-b",
    weight=0.10,
    schedule_hour=12.0,
    min_runs=2,
    steps=(
        StepSpec("CsvExampleGen", "CsvExampleGen", "cpu-pool", 1000, 4096, (5, 10), image=_PENGUIN_IMAGE,
                 outputs=(("examples", "tfx.Examples"),)),
        StepSpec("Trainer", "Trainer", "cpu-pool", 2000, 8192, (20, 40), deps=("CsvExampleGen",),
                 inputs=(("examples", "CsvExampleGen", "examples"),),
                 outputs=(("model", "tfx.Model"), ("model_run", "tfx.ModelRun")), image=_PENGUIN_IMAGE),
        StepSpec("Evaluator", "Evaluator", "cpu-pool", 1000, 4096, (10, 15), deps=("Trainer",),
                 inputs=(("examples", "CsvExampleGen", "examples"), ("model", "Trainer", "model")),
                 outputs=(("evaluation", "tfx.ModelEvaluation"), ("blessing", "tfx.ModelBlessing")),
                 image=_PENGUIN_IMAGE),
        StepSpec("Pusher", "Pusher", "cpu-pool", 500, 1024, (1, 2), deps=("Evaluator",),
                 inputs=(("model", "Trainer", "model"), ("_Evaluator.blessing", "Evaluator", "blessing")),
                 outputs=(("pushed_model", "tfx.PushedModel"),), image=_PENGUIN_IMAGE, egress_mib_per_min=300),
    ),
)

PIPELINES: dict[str, PipelineSpec] = {
    p.name: p for p in (TAXI_TFX, LLM_FINETUNE, TPU_PRETRAIN, NIGHTLY_SCORING, PENGUIN_TFX_V2)
}
MIN_RUNS = sum(p.min_runs for p in PIPELINES.values())
