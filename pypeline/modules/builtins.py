"""The table of built-in modules: registry name -> class path.

Built-ins are listed here explicitly (no import-time self-registration), so
that the build can resolve ``csv_source`` without importing every module, and
a fresh project needs no registry file to use them.
"""

from __future__ import annotations

BUILTIN_MODULES: dict[str, str] = {
    # sources
    "csv_source": "pypeline.modules.source.csv_source.CsvSource",
    "file_list": "pypeline.modules.source.file_list.FileList",
    "text_source": "pypeline.modules.source.text_source.TextSource",
    "empty_source": "pypeline.modules.source.empty_source.EmptySource",
    "parquet_source": "pypeline.modules.source.parquet_source.ParquetSource",
    "json_source": "pypeline.modules.source.json_source.JsonSource",
    "excel_source": "pypeline.modules.source.excel_source.ExcelSource",
    "sql_source": "pypeline.modules.source.sql_source.SqlSource",
    # transforms
    "filter_mod": "pypeline.modules.mods.filter_mod.FilterMod",
    "regex_filter_mod": "pypeline.modules.mods.regex_filter_mod.RegexFilterMod",
    "union_mod": "pypeline.modules.mods.union_mod.UnionMod",
    "noop_mod": "pypeline.modules.mods.noop_mod.NoopMod",
    "select_mod": "pypeline.modules.mods.select_mod.SelectMod",
    "derive_mod": "pypeline.modules.mods.derive_mod.DeriveMod",
    "cast_mod": "pypeline.modules.mods.cast_mod.CastMod",
    "join_mod": "pypeline.modules.mods.join_mod.JoinMod",
    "dedupe_mod": "pypeline.modules.mods.dedupe_mod.DedupeMod",
    "aggregate_mod": "pypeline.modules.mods.aggregate_mod.AggregateMod",
    "sort_mod": "pypeline.modules.mods.sort_mod.SortMod",
    "key_extractor_mod": "pypeline.modules.mods.key_extractor_mod.KeyExtractorMod",
    "limit_mod": "pypeline.modules.mods.limit_mod.LimitMod",
    "sample_mod": "pypeline.modules.mods.sample_mod.SampleMod",
    # sinks
    "csv_sink": "pypeline.modules.sinks.csv_sink.CsvSink",
    "parquet_sink": "pypeline.modules.sinks.parquet_sink.ParquetSink",
    "text_sink": "pypeline.modules.sinks.text_sink.TextSink",
    "noop_sink": "pypeline.modules.sinks.noop_sink.NoopSink",
    "json_sink": "pypeline.modules.sinks.json_sink.JsonSink",
    "sql_sink": "pypeline.modules.sinks.sql_sink.SqlSink",
    "log_sink": "pypeline.modules.sinks.log_sink.LogSink",
    # solo
    "set_globals": "pypeline.modules.solo.set_globals.SetGlobals",
    "fail_mod": "pypeline.modules.solo.fail_mod.FailMod",
    "wait_for_file": "pypeline.modules.solo.wait_for_file.WaitForFile",
    "run_job": "pypeline.modules.solo.run_job.RunJob",
}
