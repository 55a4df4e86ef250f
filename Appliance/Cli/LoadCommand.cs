using System.CommandLine;
using System.Globalization;
using Fs.Core.Meta.Dump;
using Fs.Core.Meta;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance load FILE|-</c>: loads a dump into an empty metadata engine (of any kind), all or nothing.</summary>
internal static class LoadCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var file = new Argument<string>("FILE") { Description = "The dump to load: a file (gzip-compressed when it ends in .gz) or - for standard input" };
        var command = new Command("load", "Load a metadata dump into an empty metadata engine") { file };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var location = context.ResolveLocation();
            location.EnsureDataDirectory();
            var meta = MetaEngines.Open(location.MetaUrl, context.LoggerFactory);
            await using (meta.ConfigureAwait(false))
            {
                var path = parse.GetValue(file)!;
                var input = DumpFile.OpenRead(path, context.WorkingDirectory);
                await using (input.ConfigureAwait(false))
                    await meta.LoadAsync(MetaDumpStream.ReadAsync(input, token), token).ConfigureAwait(false);
                var format = await meta.LoadFormatAsync(token).ConfigureAwait(false);
                var usage = await meta.GetUsageAsync(token).ConfigureAwait(false);
                context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"loaded volume '{format?.Name}' into {meta.Description}: {usage.UsedInodes} inodes, {usage.UsedBytes} bytes; its objects stay at {format?.Storage}"));
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
