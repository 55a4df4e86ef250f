using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Fs.Core.Vfs;
using Microsoft.Extensions.Logging;
using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Rpc;

/// <summary>
/// One client's TCP connection: reads record-marked records (fragments reassembled up to a limit), runs up to
/// <see cref="RpcConnectionLimits.MaxInFlight"/> calls at once (a call runs on the reading thread unless more calls are
/// already waiting behind it), and writes each reply as soon as its call completes, in whatever order, one whole record
/// at a time under a write lock. A reply's tail (READ data) is sent from the block cache's memory, not copied in first.
/// </summary>
public sealed class RpcTcpConnection : IAsyncDisposable
{
    /// <summary>Zeros for the XDR padding after a reply's tail.</summary>
    private static readonly byte[] Padding = new byte[4];

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly RpcDispatcher _dispatcher;
    private readonly RpcConnectionLimits _limits;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly RpcCredentialCache _credentials = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly IPEndPoint _remote;
    private int _inFlight;
    private long _lastActivity = Environment.TickCount64;

    public RpcTcpConnection(Socket socket, RpcDispatcher dispatcher, RpcConnectionLimits limits, ILogger logger)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _dispatcher = dispatcher;
        _limits = limits;
        _logger = logger;
        _slots = new SemaphoreSlim(limits.MaxInFlight, limits.MaxInFlight);
        _remote = (IPEndPoint)socket.RemoteEndPoint!;
    }

    /// <summary>Serves the connection until the client closes it, it idles out, it sends a malformed record, or <paramref name="ct"/> fires.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _closed.Token);
        var token = linked.Token;
        var header = new byte[4];
        var period = _limits.IdleTimeout / 4;
        await using var idleCheck = new Timer(_ => CloseIfIdle(), null, period, period);
        try
        {
            while (!token.IsCancellationRequested)
            {
                await _slots.WaitAsync(token).ConfigureAwait(false);
                (byte[]? Record, int Length) next;
                try
                {
                    next = await ReadRecordAsync(header, token).ConfigureAwait(false);
                }
                catch
                {
                    _slots.Release();
                    throw;
                }
                if (next.Record is null)
                {
                    _slots.Release();
                    break;
                }
                Volatile.Write(ref _lastActivity, Environment.TickCount64);
                var more = MoreWaiting();
                Interlocked.Increment(ref _inFlight);
                if (more)
                {
                    // The client has already sent the next call: run this one on the pool, so a call that spends a while
                    // on its thread (a big copy, a metadata query) does not hold up the ones behind it.
                    ThreadPool.UnsafeQueueUserWorkItem(
                        static s => _ = s.Connection.ProcessAsync(s.Record, s.Length, s.Token),
                        (Connection: this, next.Record, next.Length, Token: token),
                        preferLocal: false);
                }
                else
                {
                    // Nothing else is waiting (a client that sends one call at a time): running the call here saves the
                    // hand-over to another thread, which is most of a small call's cost and its latency on a busy machine.
                    _ = ProcessAsync(next.Record, next.Length, token);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (RpcRecordException e)
        {
            _logger.LogWarning("closing connection from {Remote}: {Reason}", _remote, e.Message);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            _logger.LogDebug("connection from {Remote} ended: {Reason}", _remote, e.Message);
        }
        finally
        {
            await _closed.CancelAsync().ConfigureAwait(false);
            // Calls still running finish and release their buffers; their replies have nowhere to go.
            for (var i = 0; i < _limits.MaxInFlight; i++)
                await _slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            _stream.Dispose();
        }
    }

    /// <summary>Whether bytes of a further record have already arrived; false once the socket is gone (the read loop then ends).</summary>
    private bool MoreWaiting()
    {
        try
        {
            return _socket.Available > 0;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private void CloseIfIdle()
    {
        if (Volatile.Read(ref _inFlight) > 0)
            return;
        if (Environment.TickCount64 - Volatile.Read(ref _lastActivity) < (long)_limits.IdleTimeout.TotalMilliseconds)
            return;
        _logger.LogDebug("closing idle connection from {Remote}", _remote);
        _closed.Cancel();
    }

    /// <summary>Reads one whole record into a pooled buffer; null at a clean end of stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(byte[]? Record, int Length)> ReadRecordAsync(byte[] header, CancellationToken ct)
    {
        byte[]? buffer = null;
        var length = 0;
        try
        {
            while (true)
            {
                var first = buffer is null;
                if (!await ReadHeaderAsync(header, ct).ConfigureAwait(false))
                {
                    if (!first)
                        throw new RpcRecordException("stream ended inside a record");
                    return (null, 0);
                }
                var mark = BinaryPrimitives.ReadUInt32BigEndian(header);
                var fragment = (int)(mark & ~RpcProtocol.LastFragment);
                if ((long)length + fragment > _limits.MaxRecordBytes)
                    throw new RpcRecordException($"record longer than {_limits.MaxRecordBytes} bytes");
                if (buffer is null)
                {
                    buffer = ArrayPool<byte>.Shared.Rent(Math.Max(fragment, 64));
                }
                else if (length + fragment > buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(length + fragment);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                await _stream.ReadExactlyAsync(buffer.AsMemory(length, fragment), ct).ConfigureAwait(false);
                length += fragment;
                if ((mark & RpcProtocol.LastFragment) != 0)
                {
                    var done = buffer;
                    buffer = null;
                    return (done, length);
                }
            }
        }
        catch (EndOfStreamException)
        {
            throw new RpcRecordException("stream ended inside a record");
        }
        finally
        {
            if (buffer is not null)
                ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads a 4-byte record mark; false at a clean end of stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadHeaderAsync(byte[] header, CancellationToken ct)
    {
        var read = 0;
        while (read < 4)
        {
            var n = await _stream.ReadAsync(header.AsMemory(read, 4 - read), ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0)
                    return false;
                throw new RpcRecordException("stream ended inside a record mark");
            }
            read += n;
        }
        return true;
    }

    private async Task ProcessAsync(byte[] record, int length, CancellationToken ct)
    {
        var reply = XdrWriter.Rent();
        try
        {
            reply.Reserve(4);
            RpcOutcome outcome;
            try
            {
                outcome = await _dispatcher.DispatchAsync(record.AsMemory(0, length), _remote, RpcTransport.Tcp, reply, _credentials, ct).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(record);
            }
            if (outcome == RpcOutcome.Malformed)
            {
                _logger.LogWarning("closing connection from {Remote}: a record that is not an RPC call", _remote);
                await _closed.CancelAsync().ConfigureAwait(false);
                return;
            }
            if (outcome == RpcOutcome.Reply)
            {
                reply.PatchUInt32(0, RpcProtocol.LastFragment | (uint)(reply.Position - 4 + reply.TailLength));
                await _writeLock.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    await _stream.WriteAsync(reply.Head, ct).ConfigureAwait(false);
                    if (reply.Tail is { } tail)
                        await WriteTailAsync(tail, ct).ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            await _closed.CancelAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "call from {Remote} failed outside any program", _remote);
            await _closed.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            reply.Return();
            Interlocked.Decrement(ref _inFlight);
            _slots.Release();
        }
    }

    /// <summary>Sends a reply's tail (READ data) from the block cache's memory, then its XDR padding.</summary>
    private async ValueTask WriteTailAsync(ReadView tail, CancellationToken ct)
    {
        foreach (var segment in tail.Segments)
            await _stream.WriteAsync(segment, ct).ConfigureAwait(false);
        var padding = XdrReader.Padding(tail.Length);
        if (padding > 0)
            await _stream.WriteAsync(Padding.AsMemory(0, padding), ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _closed.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
