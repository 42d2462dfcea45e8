"""Log a few tracked runs to the embedded store (used by `make demo`)."""

from __future__ import annotations

import trackflow


def main() -> None:
    trackflow.set_experiment("quickstart")
    for c in (0.1, 1.0, 10.0):
        with trackflow.start_run(run_name=f"logreg-C{c}"):
            trackflow.log_param("C", c)
            for step in range(5):
                trackflow.log_metric("loss", 1.0 / (1 + step * c), step=step)
            trackflow.log_metric("acc", min(0.99, 0.8 + c / 100))
            trackflow.set_tag("use_case", "quickstart")
            trackflow.log_dict({"C": c, "solver": "lbfgs"}, "config.json")
    best = trackflow.search_runs(experiment_names=["quickstart"], order_by=["metrics.acc DESC"], max_results=1)
    print("best run:", best.iloc[0]["run_id"], "acc", best.iloc[0]["metrics.acc"])


if __name__ == "__main__":
    main()
