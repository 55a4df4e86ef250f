using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Protocols.Fuse;

namespace Appliance.Hosting;

/// <summary>
/// The local FUSE mount as a hosted service. When the mount point was chosen by default and FUSE is not usable here
/// (no /dev/fuse, not root), it logs why and lets the other doors carry on; an explicitly asked-for mount that fails stops the host.
/// </summary>
public sealed class FuseService(VolumeService volume, FuseServiceOptions options, ILoggerFactory loggerFactory) : IHostedService, IDoor, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<FuseService>();
    private FuseMount? _mount;

    public string Description => _mount is { IsMounted: true } mount ? $"fuse at {mount.MountPoint}" : "fuse (not mounted)";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Explicit && !FuseMount.IsSupported(out var reason))
        {
            _logger.LogWarning("not mounting the volume at {MountPoint}: {Reason}; the other doors carry on", options.Mount.MountPoint, reason);
            return;
        }
        var mount = new FuseMount(volume.FileSystem, options.Mount, loggerFactory);
        try
        {
            await mount.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (FuseMountException e) when (!options.Explicit)
        {
            _logger.LogWarning("not mounting the volume: {Reason}; the other doors carry on", e.Message);
            await mount.DisposeAsync().ConfigureAwait(false);
            return;
        }
        _mount = mount;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _mount, null) is { } mount)
        {
            await mount.StopAsync(cancellationToken).ConfigureAwait(false);
            await mount.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}

/// <summary>The FUSE door's settings; <see cref="Explicit"/> is true when the operator named the mount point.</summary>
public sealed record FuseServiceOptions(FuseMountOptions Mount, bool Explicit);
