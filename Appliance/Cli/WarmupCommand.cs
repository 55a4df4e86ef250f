using System.CommandLine;
using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Objects;
using Fs.Core.Vfs;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance warmup PATH</c>: reads every block of the files under PATH so the disk cache holds them before clients ask.</summary>
internal static class WarmupCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var path = new Argument<string>("PATH") { Description = "File or directory inside the volume, from its root (e.g. /datasets/2024)" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Disk block cache directory to fill [default: DATA/cache, as serve uses]", HelpName = "DIR" };
        var encryptKey = VolumeOpening.EncryptKeyOption();
        var command = new Command("warmup", "Read the files under PATH into the disk block cache") { path, cacheDir, encryptKey };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var location = context.ResolveLocation(parse.GetValue(cacheDir));
            var options = VolumeOpening.Options(context, encryptKey) with { CacheDir = location.CacheDirectory };
            var fs = await FileSystem.OpenAsync(options, context.LoggerFactory, token).ConfigureAwait(false);
            await using (fs.ConfigureAwait(false))
            {
                var target = parse.GetValue(path) ?? "/";
                var start = await VolumePaths.ResolveAsync(fs, target, token).ConfigureAwait(false);
                if (!start.TryGet(out var attr))
                {
                    await context.Error.WriteLineAsync($"error: {target}: {start.Error}").ConfigureAwait(false);
                    return ExitCodes.Problems;
                }
                var files = new List<InodeAttr>();
                await foreach (var file in VolumePaths.RegularFilesAsync(fs, attr, token).ConfigureAwait(false))
                    files.Add(file);
                var total = files.Sum(f => f.Size);
                long read = 0;
                var failed = 0;
                await VolumeCheckProgressBar.Display(context.Console).StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("warming", maxValue: Math.Max(1, total));
                    var buffer = new byte[fs.Format.BlockSize];
                    foreach (var file in files)
                    {
                        var (n, ok) = await ReadWholeAsync(fs, file, buffer, task, token).ConfigureAwait(false);
                        read += n;
                        if (!ok)
                            failed++;
                    }
                    task.Value = task.MaxValue;
                    task.StopTask();
                }).ConfigureAwait(false);
                // A local object directory gets no disk tier (it would copy one local disk to another); reading it still
                // leaves the blocks in the operating system's page cache.
                var into = fs.ObjectStore is LocalDirectoryStore ? "the page cache (a local object directory has no disk cache)" : location.CacheDirectory;
                context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"warmed {files.Count - failed} files, {read} bytes ({ByteSize.Humanize(read)}) into {into}"));
                if (failed > 0)
                    context.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"[red]{failed} files could not be read[/]; see the log"));
                return failed == 0 ? ExitCodes.Ok : ExitCodes.Problems;
            }
        }, ct));
        return command;
    }

    private static async Task<(long Read, bool Ok)> ReadWholeAsync(FileSystem fs, InodeAttr file, byte[] buffer, ProgressTask task, CancellationToken ct)
    {
        var opened = await fs.OpenAsync(Caller.Root, file.Ino, OpenFlags.ReadOnly, ct).ConfigureAwait(false);
        if (!opened.TryGet(out var handle))
            return (0, false);
        long offset = 0;
        try
        {
            while (true)
            {
                var n = await fs.ReadAsync(handle, offset, buffer, ct).ConfigureAwait(false);
                if (!n.Ok)
                    return (offset, false);
                if (n.Value == 0)
                    return (offset, true);
                offset += n.Value;
                task.Increment(n.Value);
            }
        }
        finally
        {
            await fs.ReleaseAsync(handle, ct).ConfigureAwait(false);
        }
    }
}
