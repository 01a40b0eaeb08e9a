"""Command line: options -> ``api.check_paths`` -> a reporter -> an exit code.

No analysis happens here (everything is callable from Python through ``leakcheck.api``).
Exit codes: 0 nothing to report; 1 active findings or files that could not be analyzed;
2 usage, configuration or rule-file errors and internal errors.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from leakcheck import __version__
from leakcheck.errors import LeakcheckError
from leakcheck.report.base import format_names, get_reporter
from leakcheck.types import CheckResult

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
DEBUG_ENV = "LEAKCHECK_DEBUG"  # set to show the traceback of an internal error


def exit_code(result: CheckResult, *, exit_zero: bool) -> int:
    """1 for active findings or unanalyzable files; suppressed findings do not count."""
    if exit_zero:
        return EXIT_CLEAN
    if result.active_findings or result.file_errors:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def use_color(flag: bool | None, output: str | None, *, tty: bool | None = None) -> bool:
    """``--color``/``--no-color`` win; otherwise color only for a terminal, unless NO_COLOR.

    ``tty`` defaults to whether standard output is a terminal (a parameter for tests).
    """
    if flag is not None:
        return flag
    if output is not None or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty() if tty is None else tty


def _fail(message: str) -> None:
    click.echo(f"leakcheck: {message}", err=True)


def _internal_error(error: BaseException) -> None:
    _fail(f"internal error: {type(error).__name__}: {error}")
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc(file=sys.stderr)
    else:
        _fail(f"this is a bug in leakcheck; set {DEBUG_ENV}=1 to see the traceback")


def _ids(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(part.strip().upper() for part in text.split(",") if part.strip())


def _test_rules(rule_paths: tuple[str, ...]) -> int:
    from leakcheck.pack_examples import report, run_examples
    from leakcheck.ruleset import load_ruleset

    try:
        rules = load_ruleset(rule_paths)
    except LeakcheckError as error:
        _fail(f"error: {error}")
        return EXIT_ERROR
    results = run_examples(rules)
    click.echo(report(results), nl=False)
    return 0 if all(r.ok for r in results) else 1


def _describe_rules(rule_paths: tuple[str, ...], list_rules: bool,
                    explain_id: str | None) -> int:
    from leakcheck import rule_docs
    from leakcheck.ruleset import load_ruleset

    try:
        rules = load_ruleset(rule_paths).rules
    except LeakcheckError as error:
        _fail(f"error: {error}")
        return EXIT_ERROR
    if list_rules:
        click.echo(rule_docs.listing(rules), nl=False)
    if explain_id:
        wanted = explain_id.strip().upper()
        rule = next((r for r in rules if r.id == wanted or r.name == explain_id), None)
        if rule is None:
            known = ", ".join(r.id for r in rules)
            _fail(f"error: unknown rule `{explain_id}` (known: {known})")
            return EXIT_ERROR
        click.echo(rule_docs.explain(rule), nl=False)
    return 0


@click.command(name="leakcheck", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=str))
@click.option(
    "--format", "output_format", type=click.Choice(format_names()), default="text",
    show_default=True, help="Output format.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
    help="Write the report to FILE instead of standard output.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--rules", "rule_paths", multiple=True, metavar="PATH",
    type=click.Path(exists=True, path_type=str),
    help="An extra rule pack (a .toml file, or a directory of them). Repeatable.",
)
@click.option(
    "--exclude", multiple=True, metavar="GLOB",
    help="Skip files matching GLOB, besides the defaults. Repeatable.",
)
@click.option(
    "--color/--no-color", "color", default=None,
    help="Force colors on or off (default: on for a terminal unless NO_COLOR is set).",
)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=str), metavar="FILE",
              help="Read [tool.leakcheck] from FILE instead of the nearest pyproject.toml.")
@click.option("--select", metavar="RULES", help="Comma-separated rule ids to report.")
@click.option("--ignore", "ignore_ids", metavar="RULES", help="Comma-separated rule ids to skip.")
@click.option("--list-rules", is_flag=True, help="List the rules of the loaded packs and exit.")
@click.option("--test-rules", is_flag=True,
              help="Run the examples embedded in the loaded packs (with --rules, yours) and exit.")
@click.option("--explain", "explain_id", metavar="RULE",
              help="Explain a rule (what it finds, why it matters, an example, the fix).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for per-file work (default: one per core).")
@click.option("--no-cache", is_flag=True,
              help="Neither read nor write the cache of per-file results.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), metavar="DIR",
              help="Where to keep the cache (default: $LEAKCHECK_CACHE_DIR, else "
                   ".leakcheck_cache in the project root).")
@click.version_option(__version__, "--version", prog_name="leakcheck")
@click.pass_context
def main(
    ctx: click.Context,
    paths: tuple[str, ...],
    output_format: str,
    output: str | None,
    exit_zero: bool,
    rule_paths: tuple[str, ...],
    exclude: tuple[str, ...],
    color: bool | None,
    list_rules: bool,
    explain_id: str | None,
    test_rules: bool,
    config_path: str | None,
    select: str | None,
    ignore_ids: str | None,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str | None,
) -> None:
    """Find chain-of-thought text reaching graders in the Python files under PATHS
    (default: the current directory)."""
    if list_rules or explain_id:
        ctx.exit(_describe_rules(rule_paths, list_rules, explain_id))
    if test_rules:
        ctx.exit(_test_rules(rule_paths))
    colored = use_color(color, output)
    try:
        from leakcheck import api  # late: `--help` and `--version` need no engine

        options = api.Options(
            paths=paths or (".",), extra_rule_files=rule_paths, exclude=exclude,
            config=config_path, select=_ids(select), ignore=_ids(ignore_ids),
            jobs=jobs, cache=not no_cache, cache_dir=cache_dir,
        )
        result = api.check_paths(options)
        report = get_reporter(output_format).render(result, color=colored)
    except LeakcheckError as error:
        _fail(f"error: {error}")
        ctx.exit(EXIT_ERROR)
    except Exception as error:  # never a bare traceback as the only output
        _internal_error(error)
        ctx.exit(EXIT_ERROR)
    if output is None:
        click.echo(report, nl=False, color=colored)
    else:
        try:
            with open(output, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(report)
        except OSError as error:
            _fail(f"error: cannot write {output}: {error.strerror or error}")
            ctx.exit(EXIT_ERROR)
    ctx.exit(exit_code(result, exit_zero=exit_zero))
