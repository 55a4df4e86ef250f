using System.Net;
using Appliance.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Protocols.Nfs;
using Protocols.Nfs.Mount;

namespace Appliance.Hosting;

/// <summary>Runs the NFS door (<see cref="NfsServer"/>) once <see cref="VolumeService"/> has opened the volume.</summary>
public sealed class NfsService(VolumeService volume, NfsServerOptions options, ILoggerFactory loggerFactory) : IHostedService, IDoor, IAsyncDisposable
{
    private NfsServer? _server;

    public string Description => _server is null
        ? $"nfs on {options.EndPoint} (not started)"
        : $"nfs on {options.EndPoint.Address}:{_server.Port}" +
          (_server.MountPort != _server.Port ? $" (mount {_server.MountPort})" : "") +
          (_server.PortmapRunning ? $", portmapper on {_server.PortmapPort}" : "");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var server = new NfsServer(volume.FileSystem, options, loggerFactory);
        try
        {
            await server.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw new InvalidSettingException($"--nfs {options.EndPoint}: cannot listen ({e.SocketErrorCode}); choose another address or port, or --nfs off");
        }
        _server = server;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Stopped before the volume (hosted services stop in reverse order), so buffered NFS writes reach it first.
        if (Interlocked.Exchange(ref _server, null) is { } server)
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}

/// <summary>The serve settings of the NFS door: <c>--nfs</c>, <c>--portmap</c>, <c>--nfs-mountport</c> and the <c>NfsExports</c> section.</summary>
public static class NfsSettings
{
    public const string Nfs = "Nfs";
    public const string Portmap = "Portmap";
    public const string MountPort = "NfsMountPort";
    public const string Exports = "NfsExports";
    public const int DefaultPort = 2049;

    /// <summary>The door's options, or null when it is switched off (<c>--nfs off</c>).</summary>
    public static NfsServerOptions? Resolve(Settings settings, string? nfsFlag, string? portmapFlag, int? mountPortFlag)
    {
        var nfs = settings.Get(nfsFlag, Nfs) ?? $"127.0.0.1:{DefaultPort}";
        if (nfs.Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        var endPoint = ParseEndPoint(nfs);
        var portmap = settings.Get(portmapFlag, Portmap) ?? "on";
        var portmapOn = portmap.ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new InvalidSettingException($"--portmap: '{portmap}' is neither on nor off"),
        };
        var mountText = mountPortFlag?.ToString() ?? settings.Get(null, MountPort);
        int? mountPort = null;
        if (mountText is not null)
        {
            if (!int.TryParse(mountText, out var p) || p is < 1 or > 65535)
                throw new InvalidSettingException($"--nfs-mountport: '{mountText}' is not a port number");
            mountPort = p;
        }
        return new NfsServerOptions
        {
            EndPoint = endPoint,
            MountPort = mountPort,
            Portmap = portmapOn,
            Exports = ReadExports(settings.Configuration.GetSection(Exports)),
        };
    }

    private static IPEndPoint ParseEndPoint(string text)
    {
        if (int.TryParse(text, out var portOnly) && portOnly is > 0 and <= 65535)
            return new IPEndPoint(IPAddress.Loopback, portOnly);
        if (IPAddress.TryParse(text, out var addressOnly))
            return new IPEndPoint(addressOnly, DefaultPort);
        if (IPEndPoint.TryParse(text, out var endPoint))
            return endPoint;
        throw new InvalidSettingException($"--nfs: '{text}' is not ADDRESS:PORT (e.g. 0.0.0.0:2049) or off");
    }

    /// <summary>
    /// Exports from configuration, e.g. <c>"NfsExports": [{ "Path": "/", "Clients": "10.0.0.0/8", "ReadOnly": false,
    /// "Squash": "root", "AnonUid": 65534, "AnonGid": 65534 }]</c>; none configured exports the root to everyone.
    /// </summary>
    private static IReadOnlyList<NfsExport> ReadExports(IConfigurationSection section)
    {
        var exports = new List<NfsExport>();
        foreach (var entry in section.GetChildren())
        {
            var path = entry["Path"] ?? "/";
            try
            {
                exports.Add(new NfsExport(
                    path,
                    entry["Clients"] is { Length: > 0 } clients ? NfsExport.ParseClients(clients) : null,
                    bool.TryParse(entry["ReadOnly"], out var ro) && ro,
                    (entry["Squash"] ?? "none").ToLowerInvariant() switch
                    {
                        "none" or "no_root_squash" => NfsSquash.None,
                        "root" or "root_squash" => NfsSquash.Root,
                        "all" or "all_squash" => NfsSquash.All,
                        var other => throw new FormatException($"squash '{other}' (none, root or all)"),
                    },
                    uint.TryParse(entry["AnonUid"], out var uid) ? uid : 65534,
                    uint.TryParse(entry["AnonGid"], out var gid) ? gid : 65534,
                    bool.TryParse(entry["RequirePrivilegedPort"], out var secure) && secure));
            }
            catch (FormatException e)
            {
                throw new InvalidSettingException($"{Exports} entry for '{path}': {e.Message}");
            }
        }
        return exports.Count == 0 ? [new NfsExport()] : exports;
    }
}
