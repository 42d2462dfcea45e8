"""User code reading a trace that another client made: get_trace and search_traces.

    python read_trace.py TRACE_ID EXPERIMENT_ID    (MLFLOW_TRACKING_URI set)"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402

trace = mlflow.get_trace(sys.argv[1])
names = {s.span_id: s.name for s in trace.data.spans}
found = mlflow.search_traces(locations=[sys.argv[2]], filter_string="span.type = 'LLM'", return_type="list")
print(json.dumps({
    "state": trace.info.state.value,
    "spans": [[s.name, names.get(s.parent_id), s.span_type, s.inputs, s.outputs] for s in trace.data.spans],
    "request": trace.data.request,
    "found": [t.info.trace_id == sys.argv[1] for t in found],
}))
