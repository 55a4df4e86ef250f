using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Rpc;

/// <summary>Serves RPC over UDP on one endpoint: one datagram is one call. Used by the portmapper, MOUNT, NLM and NSM.</summary>
public sealed class RpcUdpServer : IAsyncDisposable
{
    /// <summary>The largest UDP payload; calls over UDP are small (no NFS READ/WRITE is served over UDP).</summary>
    private const int MaxDatagram = 65507;

    private readonly Socket _socket;
    private readonly RpcDispatcher _dispatcher;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public RpcUdpServer(IPEndPoint endpoint, RpcDispatcher dispatcher, ILogger logger)
    {
        _dispatcher = dispatcher;
        _logger = logger;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.Bind(endpoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public void Start() => _loop = Task.Run(ReceiveLoopAsync);

    private async Task ReceiveLoopAsync()
    {
        var ct = _stop.Token;
        var buffer = ArrayPool<byte>.Shared.Rent(MaxDatagram);
        var any = new IPEndPoint(LocalEndPoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                SocketReceiveFromResult received;
                try
                {
                    received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (SocketException e)
                {
                    // ICMP port-unreachable from an earlier reply surfaces here on some systems; the socket is still good.
                    _logger.LogDebug("UDP receive on {Endpoint}: {Reason}", LocalEndPoint, e.Message);
                    continue;
                }
                var remote = (IPEndPoint)received.RemoteEndPoint;
                var reply = XdrWriter.Rent();
                try
                {
                    var outcome = await _dispatcher.DispatchAsync(buffer.AsMemory(0, received.ReceivedBytes), remote, RpcTransport.Udp, reply, null, ct).ConfigureAwait(false);
                    if (outcome == RpcOutcome.Reply)
                        await _socket.SendToAsync(reply.WrittenMemory, SocketFlags.None, remote, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (SocketException e)
                {
                    _logger.LogDebug("UDP reply to {Remote} failed: {Reason}", remote, e.Message);
                }
                finally
                {
                    reply.Return();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
