using System.CommandLine;
using System.Globalization;
using Appliance.Configuration;
using Fs.Core.Meta;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary><c>appliance status</c>: the volume's format, usage and the appliances serving it.</summary>
internal static class StatusCommand
{
    public static Command Create(GlobalOptions globals)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of tables" };
        var command = new Command("status", "Show the volume's format, usage and sessions") { json };
        command.SetAction((parse, ct) => CommandContext.RunAsync(parse, globals, async (context, token) =>
        {
            var (meta, format) = await MetaConnection.OpenFormattedAsync(context, token).ConfigureAwait(false);
            await using (meta.ConfigureAwait(false))
            {
                var usage = await meta.GetUsageAsync(token).ConfigureAwait(false);
                var sessions = await meta.ListSessionsAsync(token).ConfigureAwait(false);
                var metaUrl = UrlDisplay.Redact(context.ResolveLocation().MetaUrl);
                if (parse.GetValue(json))
                    await CliJson.WriteAsync(context.Output, new { Format = VolumeFormatView.Json(format, metaUrl), Usage = usage, Sessions = sessions }).ConfigureAwait(false);
                else
                    Render(context.Console, format, metaUrl, usage, sessions);
            }
            return ExitCodes.Ok;
        }, ct));
        return command;
    }

    private static void Render(IAnsiConsole console, VolumeFormat format, string metaUrl, UsageCounters usage, IReadOnlyList<SessionInfo> sessions)
    {
        console.Write(VolumeFormatView.Table(format, metaUrl));

        var used = ByteSize.Humanize(usage.UsedBytes);
        var space = format.CapacityBytes == 0 ? used : $"{used} of {ByteSize.Humanize(format.CapacityBytes)}";
        var inodes = format.InodeLimit == 0
            ? usage.UsedInodes.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{usage.UsedInodes} of {format.InodeLimit}");
        console.Write(new Table().Border(TableBorder.Rounded).AddColumn("Usage").AddColumn("Value")
            .AddRow("Space", Markup.Escape(space))
            .AddRow("Inodes", Markup.Escape(inodes)));

        if (sessions.Count == 0)
        {
            console.WriteLine("No appliance is serving this volume.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Session").AddColumn("Host").AddColumn("PID").AddColumn("Version").AddColumn("Doors").AddColumn("Started").AddColumn("Last heartbeat");
        var now = DateTime.UtcNow;
        foreach (var s in sessions)
        {
            table.AddRow(
                s.Id.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(s.Host),
                s.Pid.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(s.Version),
                // One door a line: a narrow console then wraps within a door, not across them.
                s.Doors.Length == 0 ? "none" : Markup.Escape(s.Doors.Replace(", ", "\n", StringComparison.Ordinal)),
                s.StartedUtc.ToString("u", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{(now - s.HeartbeatUtc).TotalSeconds:0}s ago"));
        }
        console.Write(table);
    }
}
