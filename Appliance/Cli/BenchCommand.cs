using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Vfs;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary>
/// <c>appliance bench [PATH]</c>, after <c>juicefs bench</c>: big-file write and read, small-file write and read, and stat,
/// through the volume's Vfs (default) or through a directory such as a FUSE mount; prints a table of throughput and cost.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var path = new Argument<string?>("PATH")
        {
            Description = "Benchmark through this directory (e.g. a FUSE or NFS mount) instead of the volume's Vfs",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var bigFileSize = GlobalOptions.Size("--big-file-size", "Size of the big file [default: 128M]", 1);
        var smallFileSize = GlobalOptions.Size("--small-file-size", "Size of each small file [default: 128K]", 1, 1L << 30);
        var smallFiles = new Option<int>("--small-files") { Description = "Number of small files", HelpName = "N", DefaultValueFactory = _ => 100 };
        var blockSize = GlobalOptions.Size("--block-size", "Size of each write and read call [default: 1M]", 1, 64L << 20);
        var encryptKey = VolumeOpening.EncryptKeyOption();
        smallFiles.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--small-files must be at least 1"); });
        var command = new Command("bench", "Measure big/small file write and read and stat, through the Vfs or a mounted directory")
        {
            path, bigFileSize, smallFileSize, smallFiles, blockSize, encryptKey,
        };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var plan = new BenchPlan(
                parse.GetValue(bigFileSize) ?? 128L << 20,
                parse.GetValue(smallFileSize) ?? 128L << 10,
                parse.GetValue(smallFiles),
                (int)(parse.GetValue(blockSize) ?? 1L << 20));
            if (parse.GetValue(path) is { } directory)
            {
                var target = new DirectoryBenchTarget(Path.GetFullPath(directory, context.WorkingDirectory));
                return await RunAsync(context, target, plan, token).ConfigureAwait(false);
            }
            var fs = await VolumeOpening.OpenAsync(context, encryptKey, token).ConfigureAwait(false);
            await using (fs.ConfigureAwait(false))
                return await RunAsync(context, await VfsBenchTarget.CreateAsync(fs, token).ConfigureAwait(false), plan, token).ConfigureAwait(false);
        }, ct));
        return command;
    }

    private sealed record BenchPlan(long BigFileSize, long SmallFileSize, int SmallFiles, int BlockSize);

    private sealed record BenchResult(string Item, string Value, string Cost);

    private static async Task<int> RunAsync(CommandContext context, IBenchTarget target, BenchPlan plan, CancellationToken ct)
    {
        var block = new byte[plan.BlockSize];
        // Random bytes, so compression cannot make the figures look better than real data would.
        Random.Shared.NextBytes(block);
        var results = new List<BenchResult>();
        try
        {
            await VolumeCheckProgressBar.Display(context.Console).StartAsync(async ctx =>
            {
                var bigWrite = ctx.AddTask("write big file", maxValue: 1);
                var t = await TimeAsync(() => target.WriteFileAsync("big", plan.BigFileSize, block, ct)).ConfigureAwait(false);
                bigWrite.Increment(1);
                results.Add(Throughput("Write big file", plan.BigFileSize, 1, t));

                var bigRead = ctx.AddTask("read big file", maxValue: 1);
                t = await TimeAsync(() => ExpectAsync(target.ReadFileAsync("big", block, ct), plan.BigFileSize, "big")).ConfigureAwait(false);
                bigRead.Increment(1);
                results.Add(Throughput("Read big file", plan.BigFileSize, 1, t));

                var names = Enumerable.Range(0, plan.SmallFiles).Select(i => string.Create(CultureInfo.InvariantCulture, $"small-{i}")).ToList();
                var smallWrite = ctx.AddTask("write small files", maxValue: names.Count);
                t = await TimeAsync(async () =>
                {
                    foreach (var name in names)
                    {
                        await target.WriteFileAsync(name, plan.SmallFileSize, block, ct).ConfigureAwait(false);
                        smallWrite.Increment(1);
                    }
                }).ConfigureAwait(false);
                results.Add(FileRate("Write small file", names.Count, t));

                var smallRead = ctx.AddTask("read small files", maxValue: names.Count);
                t = await TimeAsync(async () =>
                {
                    foreach (var name in names)
                    {
                        await ExpectAsync(target.ReadFileAsync(name, block, ct), plan.SmallFileSize, name).ConfigureAwait(false);
                        smallRead.Increment(1);
                    }
                }).ConfigureAwait(false);
                results.Add(FileRate("Read small file", names.Count, t));

                var stat = ctx.AddTask("stat files", maxValue: names.Count);
                t = await TimeAsync(async () =>
                {
                    foreach (var name in names)
                    {
                        await ExpectAsync(target.StatAsync(name, ct), plan.SmallFileSize, name).ConfigureAwait(false);
                        stat.Increment(1);
                    }
                }).ConfigureAwait(false);
                results.Add(FileRate("Stat file", names.Count, t));
            }).ConfigureAwait(false);
        }
        finally
        {
            await target.CleanupAsync(CancellationToken.None).ConfigureAwait(false);
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn("Item").AddColumn("Value", c => c.RightAligned()).AddColumn("Cost", c => c.RightAligned());
        foreach (var r in results)
            table.AddRow(r.Item, r.Value, r.Cost);
        table.Caption(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{target.Description}; big file {ByteSize.Format(plan.BigFileSize)}, {plan.SmallFiles} small files of {ByteSize.Format(plan.SmallFileSize)}, {ByteSize.Format(plan.BlockSize)} per call")));
        context.Console.Write(table);
        return ExitCodes.Ok;
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> work)
    {
        var clock = Stopwatch.StartNew();
        await work().ConfigureAwait(false);
        return clock.Elapsed;
    }

    private static async Task ExpectAsync(Task<long> measured, long expected, string name)
    {
        var actual = await measured.ConfigureAwait(false);
        if (actual != expected)
            throw new FsException(Errno.EIO, $"benchmark: {name} reads back {actual} bytes, {expected} were written");
    }

    private static BenchResult Throughput(string item, long bytes, int files, TimeSpan t) => new(
        item,
        string.Create(CultureInfo.InvariantCulture, $"{bytes / Math.Max(t.TotalSeconds, 1e-9) / (1 << 20):0.0} MiB/s"),
        string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds / files:0.00} s/file"));

    private static BenchResult FileRate(string item, int files, TimeSpan t) => new(
        item,
        string.Create(CultureInfo.InvariantCulture, $"{files / Math.Max(t.TotalSeconds, 1e-9):0.0} files/s"),
        string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds / files:0.00} ms/file"));
}
