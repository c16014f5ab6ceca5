"""Telemetry 1.1 (DESIGN §7): record schema, NDJSON writer and TensorBoard tag map.

Imports without torch (DESIGN §2). The Lightning callback lives in ``townlet.telemetry.callback``
and is deliberately not imported here, so tools and validators never pull in torch.
"""

from townlet.telemetry.schema import (
    ALWAYS_WRITTEN_KEYS,
    ANNEAL_KEYS,
    BASELINE_KEYS,
    BC_KEYS,
    DATA_MODES,
    HEALTH_KEYS,
    KPI_KEYS,
    REQUIRED_KEYS,
    REQUIRED_V10_KEYS,
    REQUIRED_V11_KEYS,
    TELEMETRY_VERSION,
    TOWNLET_EXTRA_KEYS,
    V11_ONLY_NUMERIC_KEYS,
    BCRecord,
    TelemetryRecord,
    record_problems,
)
from townlet.telemetry.tags import NDJSON_TO_TB_TAG, tb_scalars, townlet_layout, write_layout
from townlet.telemetry.writer import NDJSONWriter, rotated_path, stream_files

__all__ = [
    "ALWAYS_WRITTEN_KEYS",
    "ANNEAL_KEYS",
    "BASELINE_KEYS",
    "BC_KEYS",
    "DATA_MODES",
    "HEALTH_KEYS",
    "KPI_KEYS",
    "NDJSON_TO_TB_TAG",
    "REQUIRED_KEYS",
    "REQUIRED_V10_KEYS",
    "REQUIRED_V11_KEYS",
    "TELEMETRY_VERSION",
    "TOWNLET_EXTRA_KEYS",
    "V11_ONLY_NUMERIC_KEYS",
    "BCRecord",
    "NDJSONWriter",
    "TelemetryRecord",
    "record_problems",
    "rotated_path",
    "stream_files",
    "tb_scalars",
    "townlet_layout",
    "write_layout",
]
