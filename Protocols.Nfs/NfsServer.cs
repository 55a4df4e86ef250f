using System.Net;
using System.Net.Sockets;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Protocols.Nfs.Mount;
using Protocols.Nfs.Nfs3;
using Protocols.Nfs.Nlm;
using Protocols.Nfs.Portmap;
using Protocols.Nfs.Rpc;

namespace Protocols.Nfs;

/// <summary>
/// The NFS door: NFSv3, MOUNT v3, NLM v4 and NSM on one TCP port (plus UDP for all but NFS), an optional separate
/// MOUNT port, and a portmapper on port 111 when it can be bound. Everything goes through one <see cref="FileSystem"/>.
/// </summary>
public sealed class NfsServer : IAsyncDisposable
{
    private readonly FileSystem _fs;
    private readonly NfsServerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly List<IAsyncDisposable> _listeners = [];
    private readonly List<PortMapping> _registeredElsewhere = [];
    private OpenFileCache? _files;
    private NlmProgram? _nlm;
    private int _stopped;

    public NfsServer(FileSystem fs, NfsServerOptions options, ILoggerFactory? loggerFactory = null)
    {
        _fs = fs;
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<NfsServer>();
    }

    /// <summary>The TCP port NFS listens on (the chosen one when the options said 0).</summary>
    public int Port { get; private set; }

    public int MountPort { get; private set; }

    /// <summary>Whether this server runs the portmapper itself (it could bind the port).</summary>
    public bool PortmapRunning => PortmapPort != 0;

    /// <summary>The port this server's portmapper listens on; 0 when it runs none.</summary>
    public int PortmapPort { get; private set; }

    public Nfs3FileHandles? Handles { get; private set; }

    /// <summary>Binds every port and starts serving; throws <see cref="SocketException"/> when the NFS or mount port is taken.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        var key = string.IsNullOrEmpty(_fs.Format.HandleKey)
            ? _fs.Format.Uuid.ToByteArray()
            : Convert.FromHexString(_fs.Format.HandleKey);
        var handles = Handles = new Nfs3FileHandles(_fs.Format.Uuid, key);
        var exports = new ExportTable(_fs, _options.Exports);
        var rpcLogger = _loggerFactory.CreateLogger("Protocols.Nfs.Rpc");
        _files = new OpenFileCache(_fs, _options.OpenFileIdle, _loggerFactory.CreateLogger<OpenFileCache>());
        var nfs = new Nfs3Program(_fs, exports, handles, _files);
        var mount = new MountProgram(exports, handles, _loggerFactory.CreateLogger<MountProgram>());
        _nlm = new NlmProgram(_fs, handles, _options.GracePeriod, _loggerFactory.CreateLogger<NlmProgram>());
        var nsm = new NsmProgram(_nlm, _loggerFactory.CreateLogger<NsmProgram>());
        var registry = new PortmapRegistry();
        var portmap = new PortmapProgram(registry);

        var everything = new RpcDispatcher([nfs, mount, _nlm, nsm, portmap], rpcLogger);
        // NFS itself is not offered over UDP: a 1 MiB READ does not fit a datagram.
        var datagrams = new RpcDispatcher([mount, _nlm, nsm, portmap], rpcLogger);
        var address = _options.EndPoint.Address;

        var tcp = Listen(new RpcTcpServer(_options.EndPoint, everything, _options.Connections, rpcLogger));
        Port = tcp.LocalEndPoint.Port;
        Listen(new RpcUdpServer(new IPEndPoint(address, Port), datagrams, rpcLogger));
        MountPort = Port;
        if (_options.MountPort is { } mountPort && mountPort != Port)
        {
            var mountTcp = Listen(new RpcTcpServer(new IPEndPoint(address, mountPort), everything, _options.Connections, rpcLogger));
            MountPort = mountTcp.LocalEndPoint.Port;
            Listen(new RpcUdpServer(new IPEndPoint(address, MountPort), datagrams, rpcLogger));
        }

        PortMapping[] mappings =
        [
            new(Nfs3Program.ProgramNumber, 3, PortmapProtocol.Tcp, (uint)Port),
            new(MountProgram.ProgramNumber, 3, PortmapProtocol.Tcp, (uint)MountPort),
            new(MountProgram.ProgramNumber, 3, PortmapProtocol.Udp, (uint)MountPort),
            new(NlmProgram.ProgramNumber, 4, PortmapProtocol.Tcp, (uint)Port),
            new(NlmProgram.ProgramNumber, 4, PortmapProtocol.Udp, (uint)Port),
            new(NsmProgram.ProgramNumber, 1, PortmapProtocol.Tcp, (uint)Port),
            new(NsmProgram.ProgramNumber, 1, PortmapProtocol.Udp, (uint)Port),
        ];
        foreach (var m in mappings)
            registry.Set(m);
        if (_options.Portmap)
            await StartPortmapAsync(address, registry, mappings, rpcLogger, ct).ConfigureAwait(false);
        _logger.LogInformation("NFS door listening on {Address}:{Port} (mount port {MountPort}, portmapper {Portmap})",
            address, Port, MountPort, PortmapRunning ? PortmapPort.ToString() : "off");
    }

    private async Task StartPortmapAsync(IPAddress address, PortmapRegistry registry, PortMapping[] mappings, ILogger rpcLogger, CancellationToken ct)
    {
        var portmapEndpoint = new IPEndPoint(address, _options.PortmapPort);
        var dispatcher = new RpcDispatcher([new PortmapProgram(registry)], rpcLogger);
        RpcTcpServer? tcp = null;
        try
        {
            tcp = new RpcTcpServer(portmapEndpoint, dispatcher, _options.Connections, rpcLogger);
            // With port 0 (tests) the UDP side takes the same number the TCP side was given.
            var udp = new RpcUdpServer(new IPEndPoint(address, tcp.LocalEndPoint.Port), dispatcher, rpcLogger);
            Listen(tcp);
            Listen(udp);
            PortmapPort = tcp.LocalEndPoint.Port;
            registry.Set(new PortMapping(PortmapProgram.ProgramNumber, 2, PortmapProtocol.Tcp, (uint)PortmapPort));
            registry.Set(new PortMapping(PortmapProgram.ProgramNumber, 2, PortmapProtocol.Udp, (uint)PortmapPort));
            return;
        }
        catch (SocketException e)
        {
            if (tcp is not null && !_listeners.Contains(tcp))
                await tcp.DisposeAsync().ConfigureAwait(false);
            _logger.LogWarning(
                "portmapper port {Port} cannot be bound ({Reason}); clients must name the ports (port={NfsPort},mountport={MountPort}). " +
                "Registering with the portmapper already there so NLM locking can still be found", _options.PortmapPort, e.SocketErrorCode, Port, MountPort);
        }
        // Another portmapper (a system rpcbind) holds the port: register with it, as any RPC service would. In parallel,
        // so that a port held by something that never answers delays the start by one timeout, not one per mapping.
        var results = await Task.WhenAll(mappings.Select(m => CallLocalPortmapAsync(portmapEndpoint, 1, m, ct))).ConfigureAwait(false);
        for (var i = 0; i < mappings.Length; i++)
            if (results[i])
                _registeredElsewhere.Add(mappings[i]);
    }

    private static async Task<bool> CallLocalPortmapAsync(IPEndPoint portmap, uint procedure, PortMapping m, CancellationToken ct)
    {
        var target = IPAddress.IsLoopback(portmap.Address) || portmap.Address.Equals(IPAddress.Any)
            ? new IPEndPoint(IPAddress.Loopback, portmap.Port)
            : portmap;
        var result = await RpcUdpClient.CallAsync(target, PortmapProgram.ProgramNumber, 2, procedure, w =>
        {
            w.WriteUInt32(m.Program);
            w.WriteUInt32(m.Version);
            w.WriteUInt32(m.Protocol);
            w.WriteUInt32(m.Port);
        }, TimeSpan.FromMilliseconds(500), 2, ct).ConfigureAwait(false);
        return result is { Length: 4 } && result[3] == 1;
    }

    private T Listen<T>(T listener) where T : IAsyncDisposable
    {
        _listeners.Add(listener);
        switch (listener)
        {
            case RpcTcpServer tcp:
                tcp.Start();
                break;
            case RpcUdpServer udp:
                udp.Start();
                break;
        }
        return listener;
    }

    /// <summary>Closes the ports, ends blocked lock waits and releases cached open files (committing their buffered writes).</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
            return;
        foreach (var listener in _listeners)
            await listener.DisposeAsync().ConfigureAwait(false);
        _listeners.Clear();
        var portmap = new IPEndPoint(_options.EndPoint.Address, _options.PortmapPort);
        await Task.WhenAll(_registeredElsewhere.Select(m => CallLocalPortmapAsync(portmap, 2, m, ct))).ConfigureAwait(false);
        if (_nlm is not null)
            await _nlm.StopAsync().ConfigureAwait(false);
        if (_files is not null)
            await _files.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
