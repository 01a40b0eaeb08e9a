"""Command line: options -> ``api.check_paths`` -> baseline -> a reporter -> an exit code.

No analysis happens here (everything is callable from Python through ``leakcheck.api`` and
``leakcheck.baseline``). Exit codes: 0 nothing to report; 1 active findings, comments that
suppress nothing (LC001) or files that could not be analyzed; 2 usage, configuration,
rule-file or baseline errors and internal errors.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from leakcheck import __version__, teardown
from leakcheck.errors import LeakcheckError
from leakcheck.report.base import ReportOptions, format_names, get_reporter, summarize
from leakcheck.types import CheckResult

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
DEBUG_ENV = "LEAKCHECK_DEBUG"  # set to show the traceback of an internal error


def exit_code(result: CheckResult, *, exit_zero: bool) -> int:
    """1 for active findings, unused suppressions (LC001, when selected) or unanalyzable
    files; suppressed and baselined findings do not count."""
    if exit_zero:
        return EXIT_CLEAN
    return EXIT_FINDINGS if summarize(result).failing else EXIT_CLEAN


def _forced(value: str | None) -> bool:
    # force-color.org: any non-empty value forces color; "0"/"false" read as "not forced"
    # (as chalk and others do), never as "off".
    return bool(value) and value.strip().lower() not in ("0", "false")


def use_color(flag: bool | None, output: str | None, *, tty: bool | None = None) -> bool:
    """``--color``/``--no-color`` win; then ``NO_COLOR`` (any non-empty value) turns color
    off; then ``FORCE_COLOR`` turns it on for standard output (CI logs that render ANSI);
    otherwise color only for a terminal. A report written with ``-o`` gets color only from
    ``--color``.

    ``tty`` defaults to whether standard output is a terminal (a parameter for tests).
    """
    if flag is not None:
        return flag
    if output is not None or os.environ.get("NO_COLOR"):
        return False
    if _forced(os.environ.get("FORCE_COLOR")):
        return True
    return sys.stdout.isatty() if tty is None else tty


def _fail(message: str) -> None:
    click.echo(f"leakcheck: {message}", err=True)


_note = _fail  # the same channel (stderr, prefixed) for what is not an error


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


def _test_rules(rule_paths: tuple[str, ...], builtin: bool) -> int:
    from leakcheck.pack_examples import report, run_examples
    from leakcheck.ruleset import load_ruleset

    try:
        rules = load_ruleset(rule_paths, builtin=builtin)
    except LeakcheckError as error:
        _fail(f"error: {error}")
        return EXIT_ERROR
    results = run_examples(rules)
    click.echo(report(results), nl=False)
    return 0 if all(r.ok for r in results) else 1


def _describe_rules(rule_paths: tuple[str, ...], list_rules: bool,
                    explain_id: str | None, builtin: bool) -> int:
    from leakcheck import rule_docs
    from leakcheck.ruleset import load_ruleset
    from leakcheck.suppress import UNUSED_SUPPRESSION_RULE

    try:
        # LC001 is the engine's own check on suppression comments, listed with the packs'
        rules = (*load_ruleset(rule_paths, builtin=builtin).rules, UNUSED_SUPPRESSION_RULE)
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
    show_default=True,
    help="Output format: text (for a terminal), json, sarif (code scanning), github "
         "(Actions annotations), markdown (job summary or pull-request comment).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
    help="Write the report to FILE instead of standard output.",
)
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even when there are findings (errors of setup still exit 2).")
@click.option(
    "--rules", "rule_paths", multiple=True, metavar="PATH",
    type=click.Path(exists=True, path_type=str),
    help="An extra rule pack (a .toml file, or a directory of them). Repeatable.",
)
@click.option("--no-builtin-rules", "no_builtin_rules", is_flag=True,
              help="Load only the --rules packs (and the configuration's `rules`): yours "
                   "replace the shipped ones.")
@click.option(
    "--exclude", multiple=True, metavar="GLOB",
    help="Skip files matching GLOB, besides the defaults. Repeatable.",
)
@click.option(
    "--color/--no-color", "color", default=None,
    help="Force colors on or off (default: on for a terminal or with FORCE_COLOR, never "
         "with NO_COLOR).",
)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=str), metavar="FILE",
              help="Read [tool.leakcheck] from FILE instead of the nearest pyproject.toml.")
@click.option("--select", metavar="RULES",
              help="Comma-separated rule ids to report (overrides the configuration). "
                   "LC001 is the unused-suppression check.")
@click.option("--ignore", "ignore_ids", metavar="RULES",
              help="Comma-separated rule ids to skip (overrides the configuration).")
@click.option("--isolated", is_flag=True,
              help="Ignore [tool.leakcheck] in pyproject.toml files (not with --config).")
@click.option("--baseline", "baseline_path", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=str),
              help="Hide the findings recorded in FILE (written by --write-baseline, or a "
                   "--format json report): only new leaks are reported and fail the run.")
@click.option("--write-baseline", "write_baseline_path", metavar="FILE",
              type=click.Path(dir_okay=False, path_type=str),
              help="Record every current unsuppressed finding in FILE and report them as "
                   "baselined (exit 0 unless there are other problems).")
@click.option("-q", "--quiet", is_flag=True,
              help="Text: one line per diagnostic, no code frames, paths or summary. "
                   "Never a progress bar.")
@click.option("-v", "--verbose", is_flag=True,
              help="Text: details of files that could not be analyzed (kind, the offending "
                   "line), and the suppressed and baselined findings, listed.")
@click.option("--statistics", is_flag=True,
              help="Text: counts per rule instead of each finding.")
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
    no_builtin_rules: bool,
    exclude: tuple[str, ...],
    color: bool | None,
    list_rules: bool,
    explain_id: str | None,
    test_rules: bool,
    config_path: str | None,
    select: str | None,
    ignore_ids: str | None,
    isolated: bool,
    baseline_path: str | None,
    write_baseline_path: str | None,
    quiet: bool,
    verbose: bool,
    statistics: bool,
    jobs: int | None,
    no_cache: bool,
    cache_dir: str | None,
) -> None:
    """Find chain-of-thought text reaching graders in the Python files under PATHS
    (default: the current directory).

    \b
    Exit status: 0 nothing to report; 1 findings, unused suppressions (LC001) or files that
    could not be analyzed; 2 usage, configuration, rule-file or baseline errors.
    Environment: NO_COLOR turns colors off, FORCE_COLOR turns them on without a terminal;
    a progress bar shows on stderr for long runs at a terminal (never with CI set).
    """
    builtin = not no_builtin_rules
    if list_rules or explain_id:
        ctx.exit(_describe_rules(rule_paths, list_rules, explain_id, builtin))
    if test_rules:
        ctx.exit(_test_rules(rule_paths, builtin))
    if statistics and output_format != "text":
        raise click.UsageError("--statistics works with --format text only", ctx)
    if isolated and config_path:
        raise click.UsageError("--isolated and --config do not go together", ctx)
    if baseline_path and write_baseline_path:
        raise click.UsageError("--baseline and --write-baseline do not go together "
                               "(--write-baseline records every current finding)", ctx)
    colored = use_color(color, output)
    try:
        from leakcheck import api  # late: `--help` and `--version` need no engine
        from leakcheck import baseline as baselines
        from leakcheck import progress as progress_bar

        options = api.Options(
            paths=paths or (".",), extra_rule_files=rule_paths, exclude=exclude,
            config=config_path, use_config=not isolated,
            select=_ids(select), ignore=_ids(ignore_ids),
            builtin_rules=False if no_builtin_rules else None,
            jobs=jobs, cache=not no_cache, cache_dir=cache_dir,
        )
        known = baselines.load_baseline(baseline_path) if baseline_path else None
        if progress_bar.wanted(quiet=quiet):
            no_color = bool(os.environ.get("NO_COLOR")) or color is False
            with progress_bar.ProgressBar(color=not no_color) as bar:
                result = api.check_paths(options, progress=bar)
        else:
            result = api.check_paths(options)
        if write_baseline_path:
            known = baselines.write_baseline(result, write_baseline_path)
            count = len(known.entries)
            if not quiet:
                _note(f"wrote {count} finding{'s' if count != 1 else ''} to "
                      f"{write_baseline_path}")
        if known is not None:
            result = baselines.apply_baseline(result, known)
        report_options = ReportOptions(quiet=quiet, statistics=statistics, verbose=verbose)
        report = get_reporter(output_format, report_options).render(result, color=colored)
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


def run() -> None:
    """The ``leakcheck`` command: :func:`main`, then the process ends without tearing the
    run's data down (see :mod:`leakcheck.teardown`)."""
    teardown.defer()
    try:
        main(prog_name="leakcheck")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): Python prints it, exits 1
        print(code, file=sys.stderr)
        code = 1
    teardown.exit_now(code)
