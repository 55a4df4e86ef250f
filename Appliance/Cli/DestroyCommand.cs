using System.CommandLine;
using System.Globalization;
using Fs.Core.Objects;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance destroy</c>: deletes every object of the volume and then its metadata, after the operator confirms.</summary>
internal static class DestroyCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var yes = new Option<bool>("--yes") { Description = "Do not ask for the volume name to confirm" };
        var force = new Option<bool>("--force") { Description = "Destroy even while appliances have sessions on the volume" };
        var command = new Command("destroy", "Delete the volume: every object in its store and all its metadata. There is no undo.") { yes, force };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var (meta, format) = await MetaConnection.OpenFormattedAsync(context, token).ConfigureAwait(false);
            await using (meta.ConfigureAwait(false))
            {
                var sessions = await meta.ListSessionsAsync(token).ConfigureAwait(false);
                if (sessions.Count > 0 && !parse.GetValue(force))
                {
                    var who = string.Join(", ", sessions.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Host} pid {s.Pid}")));
                    await context.Error.WriteLineAsync($"error: volume '{format.Name}' is in use ({who}); stop those appliances or pass --force").ConfigureAwait(false);
                    return ExitCodes.Problems;
                }
                if (!parse.GetValue(yes))
                {
                    await context.Output.WriteAsync($"This deletes volume '{format.Name}' ({format.Uuid}) and all its data. Type its name to confirm: ").ConfigureAwait(false);
                    await context.Output.FlushAsync(token).ConfigureAwait(false);
                    var typed = await Console.In.ReadLineAsync(token).ConfigureAwait(false);
                    if (typed?.Trim() != format.Name)
                    {
                        await context.Error.WriteLineAsync("error: the name did not match; nothing was deleted").ConfigureAwait(false);
                        return ExitCodes.Problems;
                    }
                }

                var location = context.ResolveLocation();
                var store = ObjectStores.Open(location.StorageGiven ? location.StorageUrl : format.Storage);
                long deleted = 0;
                await using (store.ConfigureAwait(false))
                {
                    // Objects first: if this is interrupted, the metadata still names the volume and destroy can run again.
                    await context.Console.Status().StartAsync("deleting objects", async status =>
                    {
                        var keys = new List<string>();
                        await foreach (var obj in store.ListAsync("", token).ConfigureAwait(false))
                            keys.Add(obj.Key);
                        foreach (var key in keys)
                        {
                            await store.DeleteAsync(key, token).ConfigureAwait(false);
                            if (++deleted % 256 == 0)
                                status.Status(string.Create(CultureInfo.InvariantCulture, $"deleting objects: {deleted} of {keys.Count}"));
                        }
                    }).ConfigureAwait(false);
                }
                await meta.DestroyAsync(token).ConfigureAwait(false);
                context.Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"destroyed volume '{format.Name}': {deleted} objects and all metadata deleted"));
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
