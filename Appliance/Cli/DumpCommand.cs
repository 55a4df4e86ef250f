using System.CommandLine;
using System.Globalization;
using Fs.Core.Meta.Dump;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance dump FILE|-</c>: the whole metadata as JSON Lines (gzip for *.gz), from one consistent snapshot, while the volume may be in use.</summary>
internal static class DumpCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var file = new Argument<string>("FILE") { Description = "Where to write the dump: a file (gzip-compressed when it ends in .gz) or - for standard output" };
        var command = new Command("dump", "Write the volume's whole metadata as streamed JSON") { file };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var (meta, format) = await MetaConnection.OpenFormattedAsync(context, token).ConfigureAwait(false);
            await using (meta.ConfigureAwait(false))
            {
                var path = parse.GetValue(file)!;
                long records;
                var output = DumpFile.OpenWrite(path, context.WorkingDirectory);
                await using (output.ConfigureAwait(false))
                {
                    records = path == DumpFile.Standard
                        ? await MetaDumpStream.WriteAsync(meta.DumpAsync(token), output, null, token).ConfigureAwait(false)
                        : await context.Console.Status().StartAsync("dumping", async status =>
                            await MetaDumpStream.WriteAsync(meta.DumpAsync(token), output,
                                new Progress<long>(n => status.Status(string.Create(CultureInfo.InvariantCulture, $"dumping: {n} records"))), token)
                                .ConfigureAwait(false)).ConfigureAwait(false);
                }
                // With "-" the dump owns standard output; the summary goes to standard error.
                var summary = string.Create(CultureInfo.InvariantCulture, $"dumped volume '{format.Name}': {records} records to {path}");
                if (path == DumpFile.Standard)
                    await context.Error.WriteLineAsync(summary).ConfigureAwait(false);
                else
                    context.Console.WriteLine(summary);
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
