"""Airflow's plugins folder while recording: Airflow registers its example DAGs' plugins (the
workday timetable, the decreasing priority weight strategy) only with ``load_examples``, which
would also load Airflow's own copies of the example DAGs beside ours; importing the plugin
classes here registers them alone. (trackflow needs no registration: see
pipelines/authoring/timetable_api.py and priority_strategy.py.)"""

from airflow.example_dags.plugins.decreasing_priority_weight_strategy import (  # noqa: F401
    DecreasingPriorityWeightStrategyPlugin,
)
from airflow.example_dags.plugins.workday import WorkdayTimetablePlugin  # noqa: F401
