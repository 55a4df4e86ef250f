using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Protocols.Nfs.Rpc;

/// <summary>Accepts TCP connections on one endpoint and serves each with an <see cref="RpcTcpConnection"/>.</summary>
public sealed class RpcTcpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly RpcDispatcher _dispatcher;
    private readonly RpcConnectionLimits _limits;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<RpcTcpConnection, Task> _connections = new();
    private Task? _acceptLoop;

    /// <summary>Binds and listens at once, so a taken port fails here (SocketException) rather than later.</summary>
    public RpcTcpServer(IPEndPoint endpoint, RpcDispatcher dispatcher, RpcConnectionLimits limits, ILogger logger)
    {
        _dispatcher = dispatcher;
        _limits = limits;
        _logger = logger;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Lets a restarted server take its port back while old connections sit in TIME_WAIT, so clients reconnect at once.
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Bind(endpoint);
            _listener.Listen(128);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    private async Task AcceptLoopAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogWarning("accept on {Endpoint} failed: {Reason}", LocalEndPoint, e.Message);
                continue;
            }
            RpcTcpConnection connection;
            try
            {
                connection = new RpcTcpConnection(socket, _dispatcher, _limits, _logger);
            }
            catch (SocketException)
            {
                socket.Dispose();
                continue;
            }
            _connections[connection] = ServeAsync(connection, ct);
        }
    }

    private async Task ServeAsync(RpcTcpConnection connection, CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            await connection.RunAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_acceptLoop is not null)
            await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        _stop.Dispose();
    }
}
