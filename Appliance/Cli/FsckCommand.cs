using System.CommandLine;
using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Chunks;
using Fs.Core.Vfs;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance fsck</c>: checks metadata and every stored block; exit 0 when clean, 1 when damage is found.</summary>
internal static class FsckCommand
{
    /// <summary>Leaked objects listed by name; beyond that only their count and size.</summary>
    private const int LeakedListed = 20;

    public static Command Create(GlobalOptions globals)
    {
        var repair = new Option<bool>("--repair") { Description = "Repair what the metadata check finds (block damage cannot be repaired)" };
        var encryptKey = VolumeOpening.EncryptKeyOption();
        var command = new Command("fsck", "Check the volume: metadata invariants, every referenced block, unreferenced objects") { repair, encryptKey };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var fs = await VolumeOpening.OpenAsync(context, encryptKey, token).ConfigureAwait(false);
            await using (fs.ConfigureAwait(false))
            {
                var checker = new VolumeChecker(fs.Meta, fs.ObjectStore, fs.Format.BlockSize, fs.VerifyBlockAsync);
                var report = await RunWithProgressAsync(context.Console, checker, parse.GetValue(repair), token).ConfigureAwait(false);
                Render(context.Console, report);
                return report.Clean ? ExitCodes.Ok : ExitCodes.Problems;
            }
        }, ct));
        return command;
    }

    private static Task<VolumeCheckReport> RunWithProgressAsync(IAnsiConsole console, VolumeChecker checker, bool repair, CancellationToken ct) =>
        VolumeCheckProgressBar.Display(console).StartAsync(async ctx =>
            {
                var tasks = new Dictionary<VolumeCheckPhase, ProgressTask>
                {
                    [VolumeCheckPhase.Metadata] = ctx.AddTask("metadata", autoStart: false),
                    [VolumeCheckPhase.ScanChunks] = ctx.AddTask("chunks", autoStart: false),
                    [VolumeCheckPhase.VerifyBlocks] = ctx.AddTask("blocks", autoStart: false),
                    [VolumeCheckPhase.ListObjects] = ctx.AddTask("objects", autoStart: false),
                };
                return await checker.CheckAsync(repair, new VolumeCheckProgressBar(tasks), ct).ConfigureAwait(false);
            });

    private static void Render(IAnsiConsole console, VolumeCheckReport report)
    {
        foreach (var issue in report.MetaIssues)
        {
            var state = issue.Repaired ? "[green]repaired[/]" : "[red]found[/]";
            console.MarkupLine(CultureInfo.InvariantCulture, $"{state} {Markup.Escape(issue.Kind)} inode {issue.Ino}: {Markup.Escape(issue.Detail)}");
        }

        if (report.BlockProblems.Count > 0)
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumn("Problem").AddColumn("Block").AddColumn("Inodes").AddColumn("Detail");
            foreach (var p in report.BlockProblems)
            {
                table.AddRow(
                    p.Kind.ToString().ToLowerInvariant(),
                    Markup.Escape(p.Block.ObjectKey),
                    string.Join(", ", p.Inodes),
                    Markup.Escape(p.Detail));
            }
            console.Write(table);
        }

        if (report.LeakedObjects.Count > 0)
        {
            var bytes = report.LeakedObjects.Sum(o => o.Size);
            console.MarkupLine(CultureInfo.InvariantCulture,
                $"[yellow]{report.LeakedObjects.Count} leaked objects ({ByteSize.Humanize(bytes)})[/] referenced by no file: wasted space, e.g. uploads of a writer that stopped before committing");
            foreach (var obj in report.LeakedObjects.Take(LeakedListed))
                console.WriteLine($"  {obj.Key}");
            if (report.LeakedObjects.Count > LeakedListed)
                console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ... and {report.LeakedObjects.Count - LeakedListed} more"));
        }
        if (report.PendingDeletionObjects > 0)
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{report.PendingDeletionObjects} objects of released slices are waiting for deletion"));

        var summary = string.Create(CultureInfo.InvariantCulture,
            $"{report.Chunks} chunks, {report.Slices} slices, {report.Blocks} blocks ({ByteSize.Humanize(report.Bytes)}) checked");
        if (report.Clean)
        {
            console.MarkupLine($"[green]clean[/]: {summary}");
        }
        else
        {
            var unrepaired = report.MetaIssues.Count(i => !i.Repaired);
            console.MarkupLine(CultureInfo.InvariantCulture,
                $"[red]problems found[/]: {report.BlockProblems.Count} damaged blocks, {unrepaired} unrepaired metadata issues; {summary}");
        }
    }
}
