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
    # transforms
    "filter_mod": "pypeline.modules.mods.filter_mod.FilterMod",
    "regex_filter_mod": "pypeline.modules.mods.regex_filter_mod.RegexFilterMod",
    "union_mod": "pypeline.modules.mods.union_mod.UnionMod",
    "noop_mod": "pypeline.modules.mods.noop_mod.NoopMod",
    # sinks
    "csv_sink": "pypeline.modules.sinks.csv_sink.CsvSink",
    "parquet_sink": "pypeline.modules.sinks.parquet_sink.ParquetSink",
    "text_sink": "pypeline.modules.sinks.text_sink.TextSink",
    "noop_sink": "pypeline.modules.sinks.noop_sink.NoopSink",
    # solo
    "set_globals": "pypeline.modules.solo.set_globals.SetGlobals",
    "fail_mod": "pypeline.modules.solo.fail_mod.FailMod",
}
