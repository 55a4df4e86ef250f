using Appliance.Configuration;
using Fs.Core.Meta;
using Fs.Core.Vfs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Appliance.Hosting;

/// <summary>What <see cref="VolumeService"/> opens: the volume's location and this process's cache and writer settings.</summary>
public sealed record VolumeServiceOptions(VolumeLocation Location, FileSystemOptions FileSystem, string FormatName);

/// <summary>
/// Owns the one <see cref="FileSystem"/> of the process. Started first (it formats the volume when it is new and opens
/// it), stopped last (disposing it flushes every buffered write and ends the session), so every door sees an open volume.
/// </summary>
public sealed partial class VolumeService(VolumeServiceOptions options, ILoggerFactory loggerFactory, ILogger<VolumeService> logger)
    : IHostedService, IAsyncDisposable
{
    private FileSystem? _fileSystem;

    /// <summary>The open volume; doors take it in their own StartAsync, which runs after this service's.</summary>
    public FileSystem FileSystem => _fileSystem ?? throw new InvalidOperationException("The volume is not open: VolumeService has not started or has stopped.");

    /// <summary>The open volume, or null before it is opened and after it is closed (for probes that run meanwhile).</summary>
    public FileSystem? OpenFileSystem => Volatile.Read(ref _fileSystem);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        options.Location.EnsureDataDirectory();
        if (await VolumeProvisioning.FormatIfNewAsync(options.Location, options.FormatName, loggerFactory, cancellationToken).ConfigureAwait(false) is { } formatted)
            LogFormatted(formatted.Name, formatted.Uuid);
        _fileSystem = await FileSystem.OpenAsync(options.FileSystem, loggerFactory, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Disposal is not cut short by the host's shutdown timeout: abandoning it would lose acknowledged buffered writes.
        if (Interlocked.Exchange(ref _fileSystem, null) is { } fileSystem)
        {
            await fileSystem.DisposeAsync().ConfigureAwait(false);
            LogClosed(fileSystem.Format.Name);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);

    [LoggerMessage(Level = LogLevel.Information, Message = "formatted new volume {Name} ({Uuid})")]
    private partial void LogFormatted(string name, Guid uuid);

    [LoggerMessage(Level = LogLevel.Information, Message = "volume {Name} closed")]
    private partial void LogClosed(string name);
}

/// <summary>Formats a volume on first use, so a bare <c>appliance serve</c> gets the embedded default.</summary>
public static class VolumeProvisioning
{
    /// <summary>Formats the volume when its metadata holds no format yet; returns the new format, or null when it already had one.</summary>
    public static async Task<VolumeFormat?> FormatIfNewAsync(VolumeLocation location, string name, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        await using (var meta = MetaEngines.Open(location.MetaUrl, loggerFactory))
        {
            if (await meta.LoadFormatAsync(ct).ConfigureAwait(false) is not null)
                return null;
        }
        return await FileSystem.FormatAsync(
            new FormatOptions { Name = name, MetaUrl = location.MetaUrl, StorageUrl = location.StorageUrl }, ct).ConfigureAwait(false);
    }
}
