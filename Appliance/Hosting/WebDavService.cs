using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Protocols.WebDav;

namespace Appliance.Hosting;

/// <summary>The WebDAV door as a hosted service: serves the volume once <see cref="VolumeService"/> has opened it.</summary>
public sealed class WebDavService(VolumeService volume, WebDavOptions options, ILoggerFactory loggerFactory) : IHostedService, IDoor, IAsyncDisposable
{
    private WebDavServer? _server;

    public string Description => _server?.BaseUri is { } uri ? $"webdav on {uri}" : $"webdav on {options.Address}:{options.Port}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = new WebDavServer(volume.FileSystem, options, loggerFactory);
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        _server = server;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _server, null) is { } server)
            await server.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}
