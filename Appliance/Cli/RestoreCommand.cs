using System.CommandLine;
using System.Globalization;
using Fs.Core.Meta;
using Fs.Core.Vfs;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance restore</c>: puts files from the trash back under the directory and name they were removed from.</summary>
internal static class RestoreCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var path = new Argument<string?>("PATH")
        {
            Description = "A trash hour (/.trash/2025-01-31-14) or one entry in it (/.trash/2025-01-31-14/12-345-report.doc)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var all = new Option<bool>("--all") { Description = "Restore everything in the trash" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        var command = new Command("restore", "Restore files from the trash; without PATH or --all, list what the trash holds") { path, all, json };
        command.Validators.Add(r =>
        {
            if (r.GetValue(all) && r.GetValue(path) is not null)
                r.AddError("give either PATH or --all, not both");
        });
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var (meta, _) = await MetaConnection.OpenFormattedAsync(context, token).ConfigureAwait(false);
            await using (meta.ConfigureAwait(false))
            {
                var bin = new TrashBin(meta);
                var target = parse.GetValue(path);
                var restore = parse.GetValue(all) || target is not null;
                var selected = await SelectAsync(bin, target, token).ConfigureAwait(false);
                if (selected is null)
                {
                    await context.Error.WriteLineAsync($"error: {target} is not in the trash (expected /.trash/HOUR or /.trash/HOUR/ENTRY)").ConfigureAwait(false);
                    return ExitCodes.Problems;
                }
                var outcomes = new List<RestoreOutcome>();
                foreach (var entry in selected)
                {
                    var result = restore ? await bin.RestoreAsync(entry, token).ConfigureAwait(false) : Errno.OK;
                    outcomes.Add(new RestoreOutcome($"/{TrashLayout.Name}/{entry.Hour.Name}/{entry.Name}", entry.OriginalParent, entry.OriginalName,
                        restore ? Describe(result) : "in trash", restore && result == Errno.OK));
                }
                if (restore)
                    foreach (var hour in selected.Select(e => e.Hour).Distinct())
                        await bin.RemoveIfEmptyAsync(hour, token).ConfigureAwait(false);

                if (parse.GetValue(json))
                    await CliJson.WriteAsync(context.Output, outcomes).ConfigureAwait(false);
                else
                    Render(context.Console, outcomes, restore);
                return restore && outcomes.Any(o => !o.Restored) ? ExitCodes.Problems : ExitCodes.Ok;
            }
        }, ct));
        return command;
    }

    /// <summary>The entries PATH names (all of them without PATH); null when PATH is not a trash hour or entry.</summary>
    private static async Task<List<TrashEntry>?> SelectAsync(TrashBin bin, string? path, CancellationToken ct)
    {
        string? hourName = null, entryName = null;
        if (path is not null)
        {
            var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 0 && parts[0] == TrashLayout.Name)
                parts = parts[1..];
            if (parts.Length is < 1 or > 2)
                return null;
            hourName = parts[0];
            entryName = parts.Length == 2 ? parts[1] : null;
        }
        var selected = new List<TrashEntry>();
        foreach (var hour in await bin.ListHoursAsync(ct).ConfigureAwait(false))
        {
            if (hourName is not null && hour.Name != hourName)
                continue;
            foreach (var entry in await bin.ListEntriesAsync(hour, ct).ConfigureAwait(false))
                if (entryName is null || entry.Name == entryName)
                    selected.Add(entry);
        }
        return path is not null && selected.Count == 0 ? null : selected;
    }

    private static string Describe(Errno result) => result switch
    {
        Errno.OK => "restored",
        Errno.EEXIST => "not restored: the name is taken again",
        Errno.ENOENT => "not restored: the original directory is gone",
        Errno.EINVAL => "not restored: the entry does not say where it came from",
        _ => $"not restored: {result}",
    };

    private static void Render(IAnsiConsole console, List<RestoreOutcome> outcomes, bool restore)
    {
        if (outcomes.Count == 0)
        {
            console.WriteLine("The trash is empty.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Trash entry").AddColumn("Original directory").AddColumn("Original name").AddColumn("Result");
        foreach (var o in outcomes)
        {
            var state = !restore ? "in trash" : o.Restored ? "[green]restored[/]" : $"[red]{Markup.Escape(o.Result)}[/]";
            table.AddRow(Markup.Escape(o.TrashPath), o.OriginalParent.ToString(CultureInfo.InvariantCulture), Markup.Escape(o.OriginalName ?? "?"), state);
        }
        console.Write(table);
    }

    private sealed record RestoreOutcome(string TrashPath, ulong OriginalParent, string? OriginalName, string Result, bool Restored);
}
