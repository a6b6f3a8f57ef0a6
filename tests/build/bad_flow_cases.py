"""The bad flows of tests/build/test_bad_flows.py: each a good flow with one mistake, and its whole message.

``{f}`` in a message stands for the flow file's path as given on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

ETL = """\
flow:
  name: orders
modules:
  - id: read
    name: csv_source
    configs:
      required: {file_path: in.csv}
  - id: keep
    name: filter_mod
    configs:
      required: {condition: "amount > 1"}
  - id: write
    name: csv_sink
    configs:
      required: {output_path: out.csv}
connections:
  data:
    - "read.data - keep.input"
    - "keep.output - write.input"
"""

CONTROL = """\
flow: {name: nightly}
context:
  default: {env: dev, in_dir: data}
  prod: {env: prod}
modules:
  - {id: files, name: file_list, configs: {required: {directory: data}}}
  - {id: read, name: csv_source, configs: {required: {file_path: "{{iter.item}}"}}}
  - {id: keep, name: filter_mod, configs: {required: {condition: "amount > 1"}}}
  - {id: write, name: csv_sink, configs: {required: {output_path: out.csv}}}
  - {id: flag, name: set_globals, configs: {required: {values: {done: 1}}}}
  - {id: other, name: csv_source, configs: {required: {file_path: "{{context.in_dir}}/x.csv"}}}
  - {id: drop, name: noop_sink}
connections:
  data:
    - "read.data - keep.input"
    - "keep.output - write.input"
    - "other.data - drop.input"
  control:
    - {from: files, to: read, type: iterate}
    - "write (1|) flag"
    - "flag (Last|flag__done == 1 and context.env == 'dev') other"
"""


@dataclass(frozen=True)
class Case:
    """A flow with one mistake, and the whole message it must produce (``{f}`` is the file)."""

    id: str
    text: str
    message: str


def mutate(base: str, *changes: tuple[str, str]) -> str:
    """``base`` with each ``old`` replaced by ``new`` (each ``old`` must be there exactly once)."""
    for old, new in changes:
        assert base.count(old) == 1, old
        base = base.replace(old, new)
    return base


CASES = [
    # -- YAML ------------------------------------------------------------------------------------
    Case(
        "yaml-syntax",
        "flow:\n  name: x\n  authors: [a, b\nmodules: []\n",
        "{f}:4:8: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)",
    ),
    Case(
        "yaml-tab",
        "flow:\n\tname: x\n",
        "{f}:2:1: YAML syntax error: a tab character where YAML expects spaces (expected spaces for indentation)",
    ),
    Case(
        "yaml-duplicate-key",
        mutate(ETL, ("  name: orders\n", "  name: orders\n  name: orders2\n")),
        "{f}:3:3: duplicate key 'name' (YAML would keep only the last one) (expected each key once per mapping)",
    ),
    Case(
        "yaml-not-a-mapping",
        "- read\n- write\n",
        "{f}:1: the flow must be a mapping, got a list (expected a mapping with the keys 'flow', 'modules' and "
        "optionally 'settings', 'context', 'connections')",
    ),
    Case(
        "yaml-two-documents",
        ETL + "---\nflow: {name: again}\n",
        "{f}:20:1: the file holds more than one YAML document ('---') (expected one flow per file)",
    ),
    Case(
        "yaml-python-tag",
        mutate(ETL, ("{file_path: in.csv}", "{file_path: !!python/object/apply:os.system [ls]}")),
        "{f}:7:29: the tag '!!python/object/apply:os.system' is not allowed (expected plain YAML without tags)",
    ),
    Case(
        "yaml-unknown-alias",
        mutate(ETL, ("{file_path: in.csv}", "{file_path: *path}")),
        "{f}:7:29: unknown alias '*path' (expected an anchor '&path' defined before it)",
    ),
    # -- schema ----------------------------------------------------------------------------------
    Case(
        "schema-unknown-key",
        mutate(ETL, ("  name: orders\n", "  name: orders\n  auther: me\n")),
        "{f}:3: at flow.auther: unknown key 'auther'; did you mean 'authors'? "
        "(expected one of: authors, created, description, name, version)",
    ),
    Case(
        "schema-misspelt-section",
        mutate(ETL, ("connections:", "conections:")),
        "{f}:16: at conections: unknown key 'conections'; did you mean 'connections'? "
        "(expected one of: connections, context, flow, modules, params, ports, settings)",
    ),
    Case(
        "schema-missing-key",
        mutate(ETL, ("    name: filter_mod\n", "")),
        "{f}:8: at modules[1]: missing required key 'name' (expected the keys id, name)",
    ),
    Case(
        "schema-missing-flow",
        mutate(ETL, ("flow:\n  name: orders\n", "")),
        "{f}:1: at (top level): missing required key 'flow' (expected the keys flow, modules)",
    ),
    Case(
        "schema-wrong-type",
        mutate(ETL, ("  name: orders\n", "  name: orders\nsettings: {retries: three}\n")),
        "{f}:3: at settings.retries: wrong type: got the string 'three' (expected an integer)",
    ),
    Case(
        "schema-bad-enum",
        mutate(ETL, ("  name: orders\n", "  name: orders\nsettings: {fail_strategy: hallt}\n")),
        "{f}:3: at settings.fail_strategy: 'hallt' is not allowed; did you mean 'halt'? "
        "(expected one of: 'halt', 'continue')",
    ),
    Case(
        "schema-bad-module-id",
        mutate(ETL, ("id: keep", "id: keep__it"), ("- keep.input", "- keep__it.input"),
               ("keep.output", "keep__it.output")),
        "{f}:8: at modules[1].id: 'keep__it' is not a valid value (expected an id of letters, digits and "
        "single underscores, starting with a letter ('__' separates module and global in {{{{module__var}}}}))",
    ),
    Case(
        "schema-control-not-string-or-mapping",
        mutate(CONTROL, ("{from: files, to: read, type: iterate}", "42")),
        "{f}:19: at connections.control[0]: wrong type: got the number 42 (expected a string or a mapping)",
    ),
    Case(
        "schema-control-order-text",
        mutate(CONTROL, ("type: iterate}", "type: iterate, order: last}")),
        "{f}:19: at connections.control[0].order: 'last' is not a valid value "
        "(expected a whole number from 1, or Last; order 0 is reserved for data connections)",
    ),
    # -- flow names that would leave jobs/ ---------------------------------------------------------
    *(
        Case(
            f"name-{label}",
            mutate(ETL, ("name: orders", f"name: '{name}'")),
            f"{{f}}:2: at flow.name: {name!r} is not a valid value (expected a name that is also the job folder "
            "jobs/<name>/: letters, digits, '_', '.' and '-', starting with a letter or digit, at most 100 "
            "characters (no slashes, no '..'))",
        )
        for label, name in [
            ("dotdot", ".."),
            ("parent-path", "../evil"),
            ("slash", "a/b"),
            ("absolute", "/etc/cron.d"),
            ("leading-dot", ".hidden"),
            ("backslash", "a\\b"),
        ]
    ),
    # -- modules -----------------------------------------------------------------------------------
    Case(
        "module-unknown",
        mutate(ETL, ("name: csv_source", "name: csv_sorce")),
        "{f}:5: module 'read': unknown module 'csv_sorce'; did you mean one of: 'csv_source', 'sql_source', "
        "'json_source'? "
        "(expected a registered module name (see 'pype list-modules') or a dotted import path)",
    ),
    Case(
        "module-path-does-not-import",
        mutate(ETL, ("name: csv_source", "name: acme_etl.sources.Orders")),
        "{f}:5: module 'read': cannot import 'acme_etl.sources.Orders': no Python module named "
        "'acme_etl.sources' (expected an importable dotted path to a BaseModule subclass (is its package "
        "installed, or its file in the project's modules/ folder?))",
    ),
    Case(
        "module-not-a-basemodule",
        mutate(ETL, ("name: filter_mod", "name: tests.resources.modules.classes.NotAModule")),
        "{f}:9: module 'keep': 'tests.resources.modules.classes.NotAModule' is not a BaseModule subclass "
        "(module classes extend pypeline.BaseModule) (expected a BaseModule subclass whose declarations follow "
        "the SDK (docs/flow-format.md, 'Writing a module'))",
    ),
    Case(
        "module-bad-declarations",
        mutate(ETL, ("name: filter_mod", "name: tests.resources.modules.classes.BadType")),
        "{f}:9: module 'keep': module class tests.resources.modules.classes.BadType is not valid: "
        "TYPE is 'transformer', expected one of source, mod, sink, solo (expected a BaseModule subclass whose "
        "declarations follow the SDK (docs/flow-format.md, 'Writing a module'))",
    ),
    Case(
        "module-without-run",
        mutate(ETL, ("name: filter_mod", "name: tests.resources.modules.classes.NoRun")),
        "{f}:9: module 'keep': module class tests.resources.modules.classes.NoRun is not valid: it does not define "
        "'async def run(self, inputs, ctx)' (expected a BaseModule subclass whose declarations follow the SDK "
        "(docs/flow-format.md, 'Writing a module'))",
    ),
    Case(
        "module-sync-run",
        mutate(ETL, ("name: filter_mod", "name: tests.resources.modules.classes.SyncRun")),
        "{f}:9: module 'keep': module class tests.resources.modules.classes.SyncRun is not valid: run() must be a "
        "coroutine ('async def run(...)') (expected a BaseModule subclass whose declarations follow the SDK "
        "(docs/flow-format.md, 'Writing a module'))",
    ),
    Case(
        "module-duplicate-id",
        mutate(ETL, ("id: write", "id: keep")),
        "{f}:12: module id 'keep' is used twice (first at line 8) (expected unique module ids)",
    ),
    # -- configs -----------------------------------------------------------------------------------
    Case(
        "config-missing",
        mutate(ETL, ("required: {file_path: in.csv}", "optional: {encoding: latin-1}")),
        "{f}:6: module 'read' (csv_source): missing required config 'file_path' "
        "(expected type str: Path, folder or glob of CSV files)",
    ),
    Case(
        "config-unknown-encoding",
        mutate(ETL, ("required: {file_path: in.csv}", "{required: {file_path: in.csv}, optional: {encoding: utf-99}}")),
        "{f}:6: module 'read' (csv_source): config 'encoding': unknown encoding 'utf-99' (expected a Python codec "
        "name: utf-8, latin-1, cp1252, utf-16, ...)",
    ),
    Case(
        "config-unknown",
        mutate(ETL, ("required: {file_path: in.csv}", "required: {file_path: in.csv, encodng: latin-1}")),
        "{f}:7: module 'read' (csv_source): unknown config 'encodng'; did you mean 'encoding'? (expected one of: "
        "blocksize, column_names, combine_strategy, date_columns, date_format, decimal, delimiter, dtypes, encoding, "
        "file_column, file_path, header, null_values, on_bad_lines, quotechar, scan, skip_rows, storage_options, "
        "thousands)",
    ),
    Case(
        "config-wrong-type",
        mutate(ETL, ("required: {file_path: in.csv}", "required: {file_path: [in.csv]}")),
        "{f}:7: module 'read' (csv_source): config 'file_path' has the wrong type: got list ['in.csv'] "
        "(expected type str: Path, folder or glob of CSV files)",
    ),
    Case(
        "config-bad-enum",
        mutate(ETL, ("required: {file_path: in.csv}", "required: {file_path: in.csv}\n      optional: "
                     "{combine_strategy: concatenate}")),
        "{f}:8: module 'read' (csv_source): config 'combine_strategy' has the value 'concatenate'; did you mean "
        "'concat'? (expected one of: 'concat', 'union_by_name', 'validate_schema')",
    ),
    # -- data connections --------------------------------------------------------------------------
    Case(
        "data-syntax",
        mutate(ETL, ('"read.data - keep.input"', '"read.data -> keep.input"')),
        "{f}:18: data connection 'read.data -> keep.input' is not of the form 'module.port - module.port' "
        "(expected e.g. 'source_csv.data - filter.input')",
    ),
    Case(
        "data-unknown-port",
        mutate(ETL, ('"read.data - keep.input"', '"read.rows - keep.input"')),
        "{f}:18: data connection 'read.rows - keep.input': module 'read' (csv_source) has no output port 'rows' "
        "(expected one of its output ports: data)",
    ),
    Case(
        "data-unknown-module",
        mutate(ETL, ('"read.data - keep.input"', '"read.data - kep.input"')),
        "{f}:18: data connection 'read.data - kep.input': unknown module 'kep'; did you mean 'keep'? "
        "(expected the id of a module of this flow)",
    ),
    Case(
        "data-port-fed-twice",
        mutate(ETL, ('    - "keep.output - write.input"\n',
                     '    - "keep.output - write.input"\n    - "read.data - write.input"\n')),
        "{f}:20: input port 'write.input' is fed twice: by 'keep.output - write.input' (line 19) and by "
        "'read.data - write.input' (expected one connection per input port (use union_mod to merge))",
    ),
    Case(
        "data-input-unconnected",
        mutate(ETL, ('    - "keep.output - write.input"\n', "")),
        "{f}:12: module 'write' (csv_sink): input port 'input' is not connected "
        "(expected a data connection 'some_module.port - write.input')",
    ),
    Case(
        "data-into-a-source",
        mutate(CONTROL, ('    - "other.data - drop.input"\n',
                         '    - "other.data - drop.input"\n    - "keep.output - other.data"\n')),
        "{f}:18: data connection 'keep.output - other.data': 'other' is a source module, which takes no data "
        "input (see docs/flow-format.md, 'Module categories') (expected a mod (transform) or sink on the right)",
    ),
    Case(
        "data-out-of-a-solo",
        mutate(CONTROL, ('    - "other.data - drop.input"\n', '    - "flag.out - drop.input"\n')),
        "{f}:17: data connection 'flag.out - drop.input': 'flag' is a solo module, which has no data output "
        "(see docs/flow-format.md, 'Module categories') (expected a source or mod (transform) on the left)",
    ),
    Case(
        "data-cycle",
        "flow: {name: loop}\nmodules:\n"
        "  - {id: read, name: csv_source, configs: {required: {file_path: a.csv}}}\n"
        "  - {id: merge, name: union_mod}\n  - {id: pass_on, name: noop_mod}\n"
        "connections:\n  data:\n"
        '    - "read.data - merge.input1"\n    - "merge.output - pass_on.input"\n'
        '    - "pass_on.output - merge.input2"\n',
        "{f}:9: data connections form a cycle: merge -> pass_on -> merge ('merge.output - pass_on.input', "
        "'pass_on.output - merge.input2') (expected a data graph without cycles)",
    ),
    # -- control connections ---------------------------------------------------------------------
    Case(
        "control-syntax",
        mutate(CONTROL, ('"write (1|) flag"', '"write -> flag"')),
        "{f}:20: control connection 'write -> flag' is not of the form 'from (order|condition) to' "
        "(expected e.g. 'load (1|) report' or 'load (2|load__row_count > 0) mail')",
    ),
    Case(
        "control-inside-one-subflow",
        mutate(CONTROL, ('"write (1|) flag"', '"read (1|) write"')),
        "{f}:20: control connection 'read (1|) write': 'read' and 'write' are in the same sub flow ('read'); "
        "control connections link different sub flows, data connections already order modules inside one; "
        "besides, 'write' is a sink module; a control connection ends at a source or solo module, the start "
        "of a sub flow (see docs/flow-format.md, 'Module categories') (expected remove this control connection)",
    ),
    Case(
        "control-ends-at-transform",
        mutate(CONTROL, ('"write (1|) flag"', '"flag (1|) keep"')),
        "{f}:20: control connection 'flag (1|) keep': 'keep' is a mod module; a control connection ends at a "
        "source or solo module, the start of a sub flow (see docs/flow-format.md, 'Module categories') "
        "(expected a control connection from a source, sink or solo module to a source or solo module)",
    ),
    Case(
        "control-starts-at-transform",
        mutate(CONTROL, ('"write (1|) flag"', '"keep (1|) flag"')),
        "{f}:20: control connection 'keep (1|) flag': 'keep' is a mod module; a control connection starts at a "
        "source, sink or solo module (see docs/flow-format.md, 'Module categories') "
        "(expected a control connection from a source, sink or solo module to a source or solo module)",
    ),
    Case(
        "control-ends-at-sink",
        mutate(CONTROL, ('"write (1|) flag"', '"flag (1|) drop"')),
        "{f}:20: control connection 'flag (1|) drop': 'drop' is a sink module; a control connection ends at a "
        "source or solo module, the start of a sub flow (see docs/flow-format.md, 'Module categories') "
        "(expected a control connection from a source, sink or solo module to a source or solo module)",
    ),
    Case(
        "control-order-0",
        mutate(CONTROL, ('"write (1|) flag"', '"write (0|) flag"')),
        "{f}:20: control connection 'write (0|) flag': order 0 is reserved for data connections "
        "(expected an order of 1 or more, or Last)",
    ),
    Case(
        "control-order-0-mapping",
        mutate(CONTROL, ("type: iterate}", "type: iterate, order: 0}")),
        "{f}:19: control connection 'files (0|) read': order 0 is reserved for data connections "
        "(expected an order of 1 or more, or Last)",
    ),
    Case(
        "control-order-text",
        mutate(CONTROL, ('"write (1|) flag"', '"write (first|) flag"')),
        "{f}:20: control connection 'write (first|) flag': order 'first' is not a whole number or 'Last' "
        "(expected an order 1, 2, ... or Last)",
    ),
    Case(
        "control-unknown-module",
        mutate(CONTROL, ('"write (1|) flag"', '"write (1|) flags"')),
        "{f}:20: control connection 'write (1|) flags': unknown module 'flags'; did you mean one of: 'flag', "
        "'files'? "
        "(expected the id of a module of this flow)",
    ),
    Case(
        "control-cycle",
        mutate(CONTROL, ('    - "flag (Last', '    - "drop (1|) files"\n    - "flag (Last')),
        "{f}:19: control connections form a cycle between sub flows read -> flag -> other -> files -> read "
        "('write (1|) flag', 'flag (1|flag__done == 1 and context.env == 'dev') other', 'drop (1|) files', "
        "'files (1|) read [iterate]') (expected control connections without cycles)",
    ),
    Case(
        "control-iterate-without-list",
        mutate(CONTROL, ("{from: files, to: read, type: iterate}", "{from: flag, to: files, type: iterate}")),
        "{f}:19: control connection 'flag (1|) files': an iterate connection needs a list output, and 'flag' "
        "(set_globals) has none (expected a module with a list output such as file_list)",
    ),
    Case(
        "control-iterate-bad-port",
        mutate(CONTROL, ("type: iterate}", "type: iterate, port: names}")),
        "{f}:19: control connection 'files (1|) read': 'names' is not a list output of 'files' "
        "(expected one of: files)",
    ),
    # -- error triggers and parallel iteration (docs/flow-format.md, "Control connections") --------
    Case(
        "control-unknown-type-mapping",
        mutate(CONTROL, ("type: iterate}", "type: on_eror}")),
        "{f}:19: at connections.control[0].type: 'on_eror' is not allowed; did you mean 'on_error'? (expected "
        "one of: 'normal', 'iterate', 'start', 'on_error', 'always')",
    ),
    Case(
        "control-unknown-type-string",
        mutate(CONTROL, ('"write (1|) flag"', '"write (1|) flag [on_eror]"')),
        "{f}:20: control connection 'write (1|) flag [on_eror]': 'on_eror' is not a connection type or option; "
        "did you mean 'on_error'? (expected a type (normal, iterate, start, on_error, always) and options "
        "handled, parallel=N, port=NAME, e.g. '[on_error, handled]')",
    ),
    Case(
        "control-two-types",
        mutate(CONTROL, ('"write (1|) flag"', '"write (1|) flag [on_error, always]"')),
        "{f}:20: control connection 'write (1|) flag [on_error, always]': two types (on_error, always) "
        "(expected one type per connection)",
    ),
    Case(
        "control-handled-on-normal",
        mutate(CONTROL, ('"write (1|) flag"', "{from: write, to: flag, handled: true}")),
        "{f}:20: control connection 'write (1|) flag': 'handled' is only meaningful for type on_error (this "
        "one is normal) (expected type on_error, or no 'handled')",
    ),
    Case(
        "control-handled-on-always",
        mutate(CONTROL, ('"write (1|) flag"', '"write (1|) flag [always, handled]"')),
        "{f}:20: control connection 'write (1|) flag': 'handled' is only meaningful for type on_error (this "
        "one is always) (expected type on_error, or no 'handled')",
    ),
    Case(
        "control-parallel-zero",
        mutate(CONTROL, ("type: iterate}", "type: iterate, parallel: 0}")),
        "{f}:19: control connection 'files (1|) read': parallel 0 would run no item (expected parallel: 1 or "
        "more (1 runs the items one after the other))",
    ),
    Case(
        "control-parallel-zero-string",
        mutate(CONTROL, ("{from: files, to: read, type: iterate}", '"files (1|) read [iterate, parallel=0]"')),
        "{f}:19: control connection 'files (1|) read': parallel 0 would run no item (expected parallel: 1 or "
        "more (1 runs the items one after the other))",
    ),
    Case(
        "control-parallel-not-iterate",
        mutate(CONTROL, ('"write (1|) flag"', '"write (1|) flag [parallel=2]"')),
        "{f}:20: control connection 'write (1|) flag': 'parallel' is only meaningful for type iterate (this "
        "one is normal) (expected type iterate, or no 'parallel')",
    ),
    Case(
        "include-missing-file",
        mutate(CONTROL, ("  - {id: drop, name: noop_sink}", "  - {id: drop, name: noop_sink}\n"
                                                              "  - {id: part, include: parts/missing.yaml}")),
        "{f}:13: include 'part': file 'parts/missing.yaml' not found (looked for parts/missing.yaml) "
        "(expected a flow file, relative to the including file)",
    ),
    Case(
        "include-with-a-name",
        mutate(CONTROL, ("  - {id: drop, name: noop_sink}", "  - {id: drop, name: noop_sink, include: x.yaml}")),
        "{f}:12: at modules[6].name: unknown key 'name' (expected one of: description, id, include, params)",
    ),
    # -- conditions --------------------------------------------------------------------------------
    Case(
        "condition-syntax",
        mutate(CONTROL, ("flag__done == 1 and", "flag__done == = 1 and")),
        "{f}:21: control connection 'flag (Last|flag__done == = 1 and context.env == 'dev') other': bad "
        "condition: '=' is not allowed: compare with '==' (at character 15)",
    ),
    Case(
        "condition-import",
        mutate(CONTROL, ("flag__done == 1 and context.env == 'dev'", "__import__('os').system('ls')")),
        "{f}:21: control connection 'flag (Last|__import__('os').system('ls')) other': bad condition: "
        "the function '__import__' is not allowed; allowed: abs, bool, float, int, len, max, min, round, str "
        "(at character 1)",
    ),
    Case(
        "condition-builtin-call",
        mutate(CONTROL, ("flag__done == 1 and context.env == 'dev'", "open('x')")),
        "{f}:21: control connection 'flag (Last|open('x')) other': bad condition: the function 'open' is not allowed; "
        "allowed: abs, bool, float, int, len, max, min, round, str (at character 1)",
    ),
    Case(
        "condition-attribute",
        mutate(CONTROL, ("flag__done == 1 and context.env == 'dev'", "flag__done.__class__")),
        "{f}:21: control connection 'flag (Last|flag__done.__class__) other': bad condition: attribute access "
        "is only allowed as context.NAME or iter.item / iter.index (at character 11)",
    ),
    Case(
        "condition-lambda",
        mutate(CONTROL, ("flag__done == 1 and context.env == 'dev'", "(lambda: 1)()")),
        "{f}:21: control connection 'flag (Last|(lambda: 1)()) other': bad condition: "
        "lambda is not allowed in an expression (at character 2)",
    ),
    Case(
        "condition-unknown-context",
        mutate(CONTROL, ("context.env == 'dev'", "context.envv == 'dev'")),
        "{f}:21: control connection 'flag (1|flag__done == 1 and context.envv == 'dev') other': unknown context "
        "variable 'envv'; did you mean 'env'? (defined: env, in_dir; add it under 'context:')",
    ),
    Case(
        "condition-unknown-module",
        mutate(CONTROL, ("flag__done == 1", "flg__done == 1")),
        "{f}:21: control connection 'flag (1|flg__done == 1 and context.env == 'dev') other': 'flg__done' names "
        "an unknown module 'flg'; did you mean 'flag'?",
    ),
    Case(
        "condition-unknown-global",
        mutate(CONTROL, ("flag__done == 1", "flag__dne == 1")),
        "{f}:21: control connection 'flag (1|flag__dne == 1 and context.env == 'dev') other': module 'flag' sets "
        "no global 'dne'; did you mean 'done'? (its globals: done)",
    ),
    # -- templates ---------------------------------------------------------------------------------
    Case(
        "template-unknown-context",
        mutate(CONTROL, ("{{context.in_dir}}", "{{context.input_dir}}")),
        "{f}:11: module 'other', config 'file_path': unknown context variable 'input_dir'; did you mean "
        "'in_dir'? (defined: env, in_dir; add it under 'context:')",
    ),
    Case(
        "template-line-of-the-config-key",
        mutate(ETL, ("required: {file_path: in.csv}", "required:\n        file_path: in.csv\n      optional:\n"
                     "        encoding: \"{{context.encoding}}\"")),
        "{f}:10: module 'read', config 'encoding': unknown context variable 'encoding' (defined: none; add it under "
        "'context:')",
    ),
    Case(
        "template-iter-outside-an-iteration",
        mutate(CONTROL, ("{required: {directory: data}}", "{required: {directory: \"{{iter.item}}\"}}")),
        "{f}:6: module 'files', config 'directory': '{{{{iter.item}}}}' is only known inside an iteration, and no "
        "iterate connection leads to sub flow 'files'",
    ),
    Case(
        "template-unknown-module",
        mutate(CONTROL, ("{{context.in_dir}}", "{{flg__done}}")),
        "{f}:11: module 'other', config 'file_path': 'flg__done' names an unknown module 'flg'; "
        "did you mean 'flag'?",
    ),
    Case(
        "template-unknown-global",
        mutate(CONTROL, ("{{context.in_dir}}", "{{files__count}}")),
        "{f}:11: module 'other', config 'file_path': module 'files' sets no global 'count'; "
        "did you mean one of: 'row_count', 'file_count'? (its globals: file_count, row_count)",
    ),
    Case(
        "template-bad-name",
        mutate(CONTROL, ("{{context.in_dir}}", "{{ in_dir }}")),
        "{f}:11: module 'other', config 'file_path': bad template: 'in_dir' is not a known name "
        "(expected context.NAME, MODULE__VAR, iter.item, iter.index or vault.PATH#KEY)",
    ),
    Case(
        "template-bad-secret",
        mutate(CONTROL, ("{{context.in_dir}}", "{{vault.kv/app/db}}")),
        "{f}:11: module 'other', config 'file_path': bad template: secret reference 'vault.kv/app/db' must look like "
        "'vault.<path>#<key>'",
    ),
    Case(
        "condition-secret",
        mutate(CONTROL, ("flag__done == 1 and context.env == 'dev'", "vault.kv == 1")),
        "{f}:21: control connection 'flag (Last|vault.kv == 1) other': bad condition: secrets cannot be used in "
        "conditions (at character 1)",
    ),
    Case(
        "config-given-twice",
        mutate(ETL, ("required: {file_path: in.csv}", "required: {file_path: in.csv}\n      optional: "
                     "{file_path: other.csv}")),
        "{f}:8: module 'read' (csv_source): config 'file_path' is given twice (required and optional)",
    ),
    # -- execution ---------------------------------------------------------------------------------
    Case(
        "backend-unknown",
        mutate(CONTROL, ("{id: drop, name: noop_sink}", "{id: drop, name: noop_sink, execution: {backend: lokal}}")),
        "{f}:12: module 'drop': unknown execution backend 'lokal'; did you mean 'local'? "
        "(known: container, dask, docker, glue, lambda, local)",
    ),
    Case(
        "backend-bad-option",
        mutate(CONTROL, ("{id: drop, name: noop_sink}",
                         "{id: drop, name: noop_sink, execution: {backend: local, memory_mb: 512}}")),
        "{f}:12: module 'drop': backend 'local' has no option 'memory_mb' (options: none)",
    ),
    Case(
        "dask-mode-unsupported",
        mutate(ETL, ("  name: orders\n", "  name: orders\nsettings: {execution_mode: dask}\n"),
               ("name: filter_mod", "name: tests.resources.modules.classes.PandasOnly"),
               ("required: {condition: \"amount > 1\"}", "required: {}")),
        "{f}:9: module 'keep' (tests.resources.modules.classes.PandasOnly) does not support "
        "execution_mode: dask (expected execution_mode: pandas, or another module)",
    ),
]
