using Fs.Core.Meta;
using Fs.Core.Vfs;

namespace Appliance.Cli;

/// <summary>
/// Read-only commands (status, info) talk to the metadata engine directly: opening the whole file system would
/// register a session and start background work just to look.
/// </summary>
internal static class MetaConnection
{
    /// <summary>Opens the engine and loads the format; a volume that was never formatted is an operator error.</summary>
    public static async Task<(IMetaEngine Meta, VolumeFormat Format)> OpenFormattedAsync(CommandContext context, CancellationToken ct)
    {
        var url = context.ResolveLocation().MetaUrl;
        var meta = MetaEngines.Open(url, context.LoggerFactory);
        try
        {
            var format = await meta.LoadFormatAsync(ct).ConfigureAwait(false)
                ?? throw new VolumeException($"no volume is formatted at {meta.Description}; run 'appliance format' or 'appliance serve'");
            return (meta, format);
        }
        catch
        {
            await meta.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
