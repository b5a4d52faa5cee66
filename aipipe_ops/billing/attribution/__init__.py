"""Attribution of cost lines to runs, steps, pipelines and models (docs/cost-model.md).

attribute.py runs the steps in order; every step is a function whose signature names the relations it reads and
the relation it writes (session temp tables, att_*), and each module's docstring says, per step, what it reads
and writes: classes.py (runs, classes of cost), allocation.py (where the money goes), scopes.py with the policies of
idle.py and shared.py (keeping and sharing), split.py (exact splits), steps.py, models.py."""
