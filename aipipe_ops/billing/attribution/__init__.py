"""Attribution of cost lines to runs, steps, pipelines and models (docs/cost-model.md)."""
