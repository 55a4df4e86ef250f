using System.CommandLine;
using Appliance.Configuration;
using Fs.Core.Meta;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance config</c>: shows the volume's format and changes the settings that may change after format.</summary>
internal static class ConfigCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var trashDays = new Option<int?>("--trash-days") { Description = "Days removed files stay in the trash (0 = no trash)", HelpName = "N" };
        var capacity = GlobalOptions.Size("--capacity", "Capacity limit (0 = unlimited)");
        var inodes = new Option<long?>("--inodes") { Description = "Inode limit (0 = unlimited)", HelpName = "N" };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        trashDays.Validators.Add(r => { if (r.GetValueOrDefault<int?>() < 0) r.AddError("--trash-days must not be negative"); });
        inodes.Validators.Add(r => { if (r.GetValueOrDefault<long?>() < 0) r.AddError("--inodes must not be negative"); });
        var command = new Command("config", "Show the volume's settings; change trash days, capacity or inode limit (running appliances pick changes up within seconds)")
        {
            trashDays, capacity, inodes, json,
        };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var (meta, format) = await MetaConnection.OpenFormattedAsync(context, token).ConfigureAwait(false);
            await using (meta.ConfigureAwait(false))
            {
                var updated = format with
                {
                    TrashDays = parse.GetValue(trashDays) ?? format.TrashDays,
                    CapacityBytes = parse.GetValue(capacity) ?? format.CapacityBytes,
                    InodeLimit = parse.GetValue(inodes) ?? format.InodeLimit,
                };
                if (updated != format)
                {
                    var usage = await meta.GetUsageAsync(token).ConfigureAwait(false);
                    if (updated.InodeLimit > 0 && updated.InodeLimit < usage.UsedInodes)
                        context.Console.MarkupLine($"[yellow]warning[/]: {usage.UsedInodes} inodes are in use already; creating files fails until some are removed");
                    if (updated.CapacityBytes > 0 && updated.CapacityBytes < usage.UsedBytes)
                        context.Console.MarkupLine($"[yellow]warning[/]: {Markup.Escape(ByteSize.Humanize(usage.UsedBytes))} is in use already; writes that grow files fail until space is freed");
                    await meta.UpdateFormatAsync(updated, token).ConfigureAwait(false);
                    updated = await meta.LoadFormatAsync(token).ConfigureAwait(false) ?? updated;
                }
                var metaUrl = UrlDisplay.Redact(context.ResolveLocation().MetaUrl);
                if (parse.GetValue(json))
                    await CliJson.WriteAsync(context.Output, VolumeFormatView.Json(updated, metaUrl)).ConfigureAwait(false);
                else
                    context.Console.Write(VolumeFormatView.Table(updated, metaUrl));
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }
}
