using System.CommandLine;
using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Chunks;
using Fs.Core.Objects;
using Fs.Core.Vfs;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary>
/// <c>appliance gc</c>: finds objects no file references (leaked) and slices awaiting deletion; with --compact rewrites every
/// chunk of several slices into one; with --delete removes the leaked objects and the pending slices' blocks now.
/// </summary>
internal static class GcCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var delete = new Option<bool>("--delete") { Description = "Delete leaked objects and the blocks of released slices (without it gc only reports)" };
        var compact = new Option<bool>("--compact") { Description = "Compact every chunk that has more than one slice" };
        var minAge = new Option<TimeSpan>("--min-age")
        {
            Description = "Leave leaked objects younger than this: a writer may have uploaded them and not committed yet [default: 01:00:00]",
            HelpName = "HH:MM:SS",
            DefaultValueFactory = _ => TimeSpan.FromHours(1),
        };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables and progress" };
        var encryptKey = VolumeOpening.EncryptKeyOption();
        var command = new Command("gc", "Find and (with --delete) remove leaked objects; compact chunks with --compact") { delete, compact, minAge, json, encryptKey };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var fs = await VolumeOpening.OpenAsync(context, encryptKey, token).ConfigureAwait(false);
            await using (fs.ConfigureAwait(false))
            {
                var asJson = parse.GetValue(json);
                var run = new GcRun(fs, parse.GetValue(delete), parse.GetValue(compact), parse.GetValue(minAge));
                var report = asJson
                    ? await run.ExecuteAsync(null, token).ConfigureAwait(false)
                    : await VolumeCheckProgressBar.Display(context.Console).StartAsync(ctx => run.ExecuteAsync(ctx, token)).ConfigureAwait(false);
                if (asJson)
                    await CliJson.WriteAsync(context.Output, report).ConfigureAwait(false);
                else
                    Render(context.Console, report, parse.GetValue(delete));
                return ExitCodes.Ok;
            }
        }, ct));
        return command;
    }

    private static void Render(IAnsiConsole console, GcReport r, bool deleted)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("Item").AddColumn("Count").AddColumn("Size");
        string N(long n) => n.ToString(CultureInfo.InvariantCulture);
        if (r.CompactedChunks is { } compacted)
            table.AddRow("Chunks compacted", N(compacted), "");
        table.AddRow("Slices awaiting deletion", N(r.PendingSlices), "");
        if (deleted)
            table.AddRow("Pending slices deleted", N(r.DeletedPendingSlices), "");
        table.AddRow("Leaked objects", N(r.LeakedObjects), Markup.Escape(ByteSize.Humanize(r.LeakedBytes)));
        if (r.RecentLeakedObjects > 0)
            table.AddRow("  of which too recent to delete", N(r.RecentLeakedObjects), "");
        if (deleted)
            table.AddRow("Leaked objects deleted", N(r.DeletedObjects), Markup.Escape(ByteSize.Humanize(r.DeletedBytes)));
        console.Write(table);
        foreach (var key in r.LeakedKeys)
            console.WriteLine($"  leaked {key}");
        if (!deleted && r.LeakedObjects - r.RecentLeakedObjects > 0)
            console.MarkupLine("Run [bold]appliance gc --delete[/] to remove the leaked objects.");
    }

    /// <summary>One gc pass over an open volume.</summary>
    private sealed class GcRun(FileSystem fs, bool delete, bool compact, TimeSpan minAge)
    {
        /// <summary>Leaked objects named in the report; beyond that only counted.</summary>
        private const int KeysListed = 20;

        public async Task<GcReport> ExecuteAsync(ProgressContext? progress, CancellationToken ct)
        {
            long? compacted = null;
            if (compact)
                compacted = await CompactAsync(progress?.AddTask("compact"), ct).ConfigureAwait(false);

            var pending = await fs.Meta.PendingSliceDeletionsAsync(int.MaxValue, ct).ConfigureAwait(false);
            var deletedSlices = delete ? await fs.DeletePendingSlicesAsync(ct).ConfigureAwait(false) : 0;

            var checker = new VolumeChecker(fs.Meta, fs.ObjectStore, fs.Format.BlockSize, fs.VerifyBlockAsync);
            IProgress<VolumeCheckProgress>? scan = progress is null ? null : new VolumeCheckProgressBar(new()
            {
                [VolumeCheckPhase.ScanChunks] = progress.AddTask("chunks", autoStart: false),
                [VolumeCheckPhase.ListObjects] = progress.AddTask("objects", autoStart: false),
            });
            var garbage = await checker.FindGarbageAsync(scan, ct).ConfigureAwait(false);

            // An object younger than minAge may be a block a writer uploaded and has yet to commit: deleting it would lose data.
            var cutoff = DateTime.UtcNow - minAge;
            var old = garbage.LeakedObjects.Where(o => o.ModifiedUtc <= cutoff).ToList();
            long deletedObjects = 0, deletedBytes = 0;
            if (delete)
            {
                var task = progress?.AddTask("delete", maxValue: Math.Max(1, old.Count));
                foreach (var obj in old)
                {
                    await fs.ObjectStore.DeleteAsync(obj.Key, ct).ConfigureAwait(false);
                    deletedObjects++;
                    deletedBytes += obj.Size;
                    task?.Increment(1);
                }
                task?.StopTask();
            }
            return new GcReport(
                compacted,
                pending.Count,
                deletedSlices,
                garbage.LeakedObjects.Count,
                garbage.LeakedObjects.Sum(o => o.Size),
                garbage.LeakedObjects.Count - old.Count,
                deletedObjects,
                deletedBytes,
                garbage.LeakedObjects.Take(KeysListed).Select(o => o.Key).ToList());
        }

        private async Task<long> CompactAsync(ProgressTask? task, CancellationToken ct)
        {
            var candidates = new List<(ulong Ino, uint Index)>();
            await foreach (var chunk in fs.Meta.ScanChunksAsync(ct).ConfigureAwait(false))
                if (chunk.Slices.Count > 1)
                    candidates.Add((chunk.Ino, chunk.Index));
            if (task is not null)
                task.MaxValue = Math.Max(1, candidates.Count);
            long compacted = 0;
            foreach (var (ino, index) in candidates)
            {
                if (await fs.CompactChunkAsync(ino, index, ct).ConfigureAwait(false))
                    compacted++;
                task?.Increment(1);
            }
            task?.StopTask();
            return compacted;
        }
    }

    private sealed record GcReport(
        long? CompactedChunks,
        long PendingSlices,
        long DeletedPendingSlices,
        long LeakedObjects,
        long LeakedBytes,
        long RecentLeakedObjects,
        long DeletedObjects,
        long DeletedBytes,
        IReadOnlyList<string> LeakedKeys);
}
